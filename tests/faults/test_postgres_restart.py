"""PostgreSQL stopped and started again while a session is being processed.

On a cluster of the test's own (initdb in a temporary directory, migrated with ``lahstats db
upgrade``), so the server the other tests share is never touched. The app runs its in-process
queue with the real models; the cluster goes down once the job is into the pipeline. While it is
down the API answers a clear 503 (not a 500); once it is back, reads work again without a restart
of the app, and the session is processed, saved once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lahstats.jobs.analysis import ModelCache
from lahstats.settings import Settings
from tests.faults.conftest import (
    PrivatePostgres,
    end_session,
    events_of,
    migrate,
    open_api,
    percents_never_go_back,
    recorded_session,
    results_of,
    status_of,
    wait_for,
    wait_until_processed,
)

pytestmark = [pytest.mark.slow]


async def test_the_database_restarting_mid_job_loses_nothing_and_reads_come_back(
    private_postgres: PrivatePostgres, real_models: ModelCache, tmp_path: Path
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=private_postgres.url,
        storage_dir=tmp_path / "blobs",
        job_heartbeat_seconds=0.5,
        job_stale_seconds=30,  # the outage must not pass for a dead job: this is about the restart
    )
    migrate(settings)
    async with open_api(settings, workers=False, models=real_models) as api:
        owner = api.user("Ana")
        sid = await recorded_session(api, owner, await api.group(owner))
        await end_session(api, owner, sid)

        async def in_pipeline() -> bool:
            return (await status_of(api, owner, sid))["progress"] > 0

        await wait_for("the job to get into the pipeline", in_pipeline, within=60)

        private_postgres.stop("fast")  # every connection is dropped, the pool's included
        down = await api.client.get(f"/sessions/{sid}", headers=owner.headers)
        health = await api.client.get("/health")
        private_postgres.start()
        back = await api.client.get(f"/sessions/{sid}", headers=owner.headers)

        assert down.status_code == 503, down.text
        body = down.json()
        assert body["error"] == "unavailable"
        assert body["message"].startswith("the database is unreachable")
        assert "/health" in body["hint"]
        assert down.headers["retry-after"] == "5"
        assert health.status_code == 503
        assert health.json()["status"] == "down"
        assert "database" in health.json()["failing"]
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "processing"  # not lost, and still being worked on

        assert await wait_until_processed(api, owner, sid, within=120) == "ready_for_claiming"
        saved = await results_of(api, owner, sid)
        events = await events_of(api.runtime.database, sid)
    assert len(saved["speakers"]) == 2
    assert any(speaker["word_counts"] for speaker in saved["speakers"].values())
    stages = [event.stage for event in events]
    assert stages.count("done") == 1
    assert stages[-1] == "done"
    assert percents_never_go_back(events)
