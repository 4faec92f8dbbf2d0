"""A ``lahstats worker`` SIGKILLed mid-job: another worker finishes the session, exactly once.

Real processes: the API (this process: ARQ queue and the stale-session sweep, no workers), two
worker processes one after the other, PostgreSQL and Redis, and the real models on the 16 s clip.

"Progress resumes from a sane state" means, for a client polling ``/status``: the percent never goes
backwards; the run that takes over records a ``restarted`` event at the percent last shown, saying
the previous run's worker was lost and that it starts from the beginning; the percent holds there
until the new run passes it; ``done`` (100) comes once. The results are those of an undisturbed
run of the same audio: nothing doubled, nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lahstats.sessions.processing import RESTARTED
from lahstats.settings import Settings
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from tests.faults.conftest import (
    WorkerProcess,
    end_session,
    events_of,
    forget_jobs,
    open_api,
    percents_never_go_back,
    recorded_session,
    results_of,
    status_of,
    wait_for,
    wait_until_processed,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def fault_settings(
    tmp_path: Path, migrated_postgres_url: str, redis_url: str, queue_name: str
) -> Settings:
    """One worker slot per process; a job silent for 3 s is dead, looked for every 0.5 s."""
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=migrated_postgres_url,
        redis_url=redis_url,
        queue_name=queue_name,
        storage_dir=tmp_path / "blobs",
        worker_concurrency=1,
        job_heartbeat_seconds=0.5,
        job_stale_seconds=3,
        recovery_interval_seconds=0.5,
    )


async def stop_watching(watcher: asyncio.Task[None] | None) -> None:
    if watcher is not None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def test_a_worker_killed_mid_job_leaves_the_session_to_the_next_worker_which_saves_it_once(
    fault_settings: Settings, workers: Callable[[Settings, str], WorkerProcess]
) -> None:
    settings = fault_settings
    victim = reference = ""
    watcher: asyncio.Task[None] | None = None
    async with open_api(settings, workers=False) as api:
        try:
            owner = api.user("Ana")
            group = await api.group(owner)
            victim = await recorded_session(api, owner, group)
            reference = await recorded_session(api, owner, group)  # the same audio, undisturbed
            seen: list[dict[str, Any]] = []  # what a client polling /status is shown

            async def watch() -> None:
                while True:
                    seen.append(await status_of(api, owner, victim))
                    await asyncio.sleep(0.1)

            first = workers(settings, "worker-1")
            await end_session(api, owner, victim)
            watcher = asyncio.create_task(watch())

            async def mid_job() -> bool:
                status = await status_of(api, owner, victim)
                return status["progress"] >= 10  # past decoding: diarizing or later

            await wait_for("worker 1 to get into the job", mid_job, within=90, detail=first.tail)

            assert first.kill() == -signal.SIGKILL
            shown = await status_of(api, owner, victim)
            assert shown["status"] == "processing"
            assert 10 <= shown["progress"] < 100
            await end_session(api, owner, reference)
            second = workers(settings, "worker-2")
            for sid in (victim, reference):
                status = await wait_until_processed(api, owner, sid, within=120, detail=second.tail)
                assert status == "ready_for_claiming", second.tail()
            await stop_watching(watcher)

            # Saved once, and the same as the undisturbed run: nothing doubled, nothing lost.
            saved = await results_of(api, owner, victim)
            assert len(saved["speakers"]) == 2
            assert any(s["word_counts"] for s in saved["speakers"].values())
            assert saved == await results_of(api, owner, reference)

            events = await events_of(api.runtime.database, victim)
            stages = [event.stage for event in events]
            assert stages[0] == "queued"
            assert stages.count("done") == 1
            assert stages[-1] == "done"
            assert percents_never_go_back(events)
            assert stages.count(RESTARTED) == 1
            at = stages.index(RESTARTED)
            restarted = events[at]
            # At the percent clients were last shown, saying why, then the new run from the start.
            assert restarted.progress == events[at - 1].progress == shown["progress"]
            assert restarted.message is not None
            assert "worker was lost" in restarted.message
            assert "from the beginning" in restarted.message
            assert stages[at + 1] == "decode"
            assert events[at + 1].progress == restarted.progress  # held, not reset to 0
            reference_stages = [e.stage for e in await events_of(api.runtime.database, reference)]
            assert RESTARTED not in reference_stages

            # What the client saw: the percent never went back, then processed, once.
            percents = [status["progress"] for status in seen]
            assert percents == sorted(percents)
            assert {status["status"] for status in seen} <= {"processing", "ready_for_claiming"}
        finally:
            await stop_watching(watcher)
            await forget_jobs(settings.redis_url or "", settings.queue_name, victim, reference)


async def _looked_at(api: Any, sid: str) -> set[int]:
    async with api.runtime.database.session() as db:
        looks = await ChunkAnalysisRepository(db).list_for_session(uuid.UUID(sid))
    return {look.chunk_number for look in looks if look.result is not None}


async def test_a_worker_killed_mid_chunk_job_leaves_the_chunk_to_the_sweep_and_loses_nothing(
    fault_settings: Settings, workers: Callable[[Settings, str], WorkerProcess]
) -> None:
    settings = fault_settings
    victim = reference = ""
    async with open_api(settings, workers=False) as api:
        try:
            owner = api.user("Ana")
            group = await api.group(owner)
            victim = await recorded_session(api, owner, group)  # its chunk jobs are queued
            first = workers(settings, "worker-1")

            async def in_a_chunk_job() -> bool:
                return "analyze_chunk" in first.tail()  # ARQ logs each job as it starts

            await wait_for("worker 1 to start a chunk job", in_a_chunk_job, within=90)
            await asyncio.sleep(0.3)  # decoding or looking: well before its result is stored
            assert first.kill() == -signal.SIGKILL
            lost = {0, 1} - await _looked_at(api, victim)
            assert lost, "worker 1 finished its chunk job before it was killed"

            reference = await recorded_session(api, owner, group)
            second = workers(settings, "worker-2")

            async def all_looked_at() -> bool:
                looked = [await _looked_at(api, sid) for sid in (victim, reference)]
                return looked == [{0, 1}, {0, 1}]

            # The sweep queues the lost chunk job again while the session is still recording,
            # so the end finds every chunk looked at: nothing waits for it.
            await wait_for(
                "every chunk to be looked at", all_looked_at, within=120, detail=second.tail
            )
            for sid in (victim, reference):
                await end_session(api, owner, sid)
            for sid in (victim, reference):
                status = await wait_until_processed(api, owner, sid, within=120, detail=second.tail)
                assert status == "ready_for_claiming", second.tail()

            saved = await results_of(api, owner, victim)
            assert len(saved["speakers"]) == 2
            assert any(s["word_counts"] for s in saved["speakers"].values())
            assert saved == await results_of(api, owner, reference)
        finally:
            await forget_jobs(settings.redis_url or "", settings.queue_name, victim, reference)
