"""Redis stopped while a group records, and started again (empty): nothing is lost, nothing doubled.

A ``redis-server`` of the test's own, without persistence; the app with its ARQ workers inside and
the real models; PostgreSQL for the rows. While Redis is down, /health says so (503, ``degraded``,
naming redis), reads and uploads work, and ending the session answers 202: the session is
``processing`` in the database with no job queued anywhere. Once Redis is back, the stale-session
sweep queues it and the app's own worker, having reconnected, processes it once.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lahstats.jobs.analysis import ModelCache
from lahstats.sessions.processing import RESTARTED
from lahstats.settings import Settings
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import ChunkRepository, SessionRepository
from tests.faults.conftest import (
    PrivateRedis,
    clip_chunks,
    end_session,
    events_of,
    open_api,
    percents_never_go_back,
    put_chunk,
    results_of,
    wait_until_processed,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def test_redis_down_keeps_reads_and_uploads_and_the_ended_session_is_processed_once_back(
    private_redis: PrivateRedis,
    real_models: ModelCache,
    migrated_postgres_url: str,
    tmp_path: Path,
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=migrated_postgres_url,
        redis_url=private_redis.url,
        queue_name=f"lahstats:faults:{uuid.uuid4().hex[:8]}",
        storage_dir=tmp_path / "blobs",
        job_heartbeat_seconds=0.5,
        job_stale_seconds=2,
        recovery_interval_seconds=0.5,
    )
    async with open_api(settings, workers=True, models=real_models) as api:
        owner = api.user("Ana")
        group = await api.group(owner)
        sid = (await api.session(owner, group))["id"]
        healthy = await api.client.get("/health")
        assert healthy.json()["checks"]["redis"]["ok"] is True

        await private_redis.stop()
        health = await api.client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded"
        assert health.json()["failing"] == ["redis"]
        assert health.json()["checks"]["redis"]["fix"]
        for number, data in enumerate(clip_chunks()):
            put = await put_chunk(api, owner, sid, number, data)
            assert put.status_code == 201, put.text
        for read in ("", "/status", "/speakers", "/transcript"):
            response = await api.client.get(f"/sessions/{sid}{read}", headers=owner.headers)
            assert response.status_code == 200, (read, response.text)
        await end_session(api, owner, sid)  # 202: the job could not be queued, the sweep will
        async with api.runtime.database.session() as db:
            ended = await SessionRepository(db).get(uuid.UUID(sid))
            chunks = await ChunkRepository(db).list_for_session(uuid.UUID(sid))
        assert ended is not None
        assert ended.status == SessionStatus.PROCESSING
        assert ended.lease_token is None  # no runner has it
        assert len(chunks) == 2

        await private_redis.start()  # empty: whatever was queued before is gone
        assert await wait_until_processed(api, owner, sid, within=90) == "ready_for_claiming"
        saved = await results_of(api, owner, sid)
        events = await events_of(api.runtime.database, sid)
        health = await api.client.get("/health")

    assert health.json()["checks"]["redis"]["ok"] is True
    assert len(saved["speakers"]) == 2
    assert any(speaker["word_counts"] for speaker in saved["speakers"].values())
    stages = [event.stage for event in events]
    assert stages.count("queued") == 1
    assert stages.count("done") == 1
    assert stages[-1] == "done"
    assert RESTARTED not in stages  # one run, from the start
    assert percents_never_go_back(events)
