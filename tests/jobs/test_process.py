"""The session-processing job on SQLite and PostgreSQL, with the pipeline faked at its seam.

What is real: the database, the blob store, the decoder, the lease, the queues (in-process here,
ARQ on the real Redis below). The real pipeline runs once per backend in test_process_pipeline.py.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from lahstats.errors import ModelUnavailable, Unavailable
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.jobs.queue import ArqQueue, InProcessQueue
from lahstats.jobs.recovery import Sweeper, recover_lost_chunks, recover_stale
from lahstats.jobs.worker import build_worker, worker_context
from lahstats.sessions.work import enqueue_processing, processing_job_id
from lahstats.storage.keys import samples_prefix
from lahstats.storage.models import (
    ChunkAnalysis,
    ProcessingEvent,
    RecordingSession,
    SessionStatus,
)
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from lahstats.storage.types import utcnow
from tests.jobs.fake_pipeline import FAKE_MODELS, FakePipeline
from tests.jobs.sessions import end_again, ended_session, recording_session, wav

TWO_CHUNKS = [(wav(), "audio/wav"), (wav(0.25), "audio/wav")]


@dataclass
class Saved:
    session: RecordingSession
    speakers: dict[str, dict[str, Any]]
    transcript: list[tuple[str, str]]
    events: list[tuple[str, int]]
    chunks: int


async def saved(resources: JobResources, session_id: uuid.UUID) -> Saved:
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        assert recording is not None
        speakers = await SpeakerRepository(db).list_for_session(session_id)
        counts = await SpeakerRepository(db).word_counts(session_id)
        segments = await TranscriptRepository(db).list_for_session(session_id)
        events: list[ProcessingEvent] = list(await EventRepository(db).list_after(session_id))
        chunks = await ChunkRepository(db).list_for_session(session_id)
    return Saved(
        session=recording,
        speakers={
            s.speaker_label: {
                "counts": counts.get(s.id, {}),
                "segments": s.segment_count,
                "sample": s.sample_storage_key,
                "embedding": s.voice_embedding is not None,
            }
            for s in speakers
        },
        transcript=[(s.raw_text, s.corrected_text) for s in segments],
        events=[(e.stage, e.progress) for e in events],
        chunks=len(chunks),
    )


def ctx(resources: JobResources, job_try: int = 1) -> dict[str, Any]:
    return {RESOURCES_KEY: resources, "job_try": job_try}


def in_process_queue(resources: JobResources) -> InProcessQueue:
    return InProcessQueue(worker_context(resources), max_tries=resources.settings.job_max_tries + 1)


def flaky_blobs(
    resources: JobResources, monkeypatch: pytest.MonkeyPatch, *, failures: int
) -> list[int]:
    """Storage that is down for the first ``failures`` reads; returns the read counter."""
    reads = [0]
    real_get = resources.blobs.get

    async def get(key: str) -> bytes:
        reads[0] += 1
        if reads[0] <= failures:
            raise Unavailable("storage unreachable: ConnectTimeout")
        return await real_get(key)

    monkeypatch.setattr(resources.blobs, "get", get)
    return reads


async def test_a_session_is_processed_and_a_second_run_leaves_the_same_rows(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)

    result = await process_session(ctx(resources), str(session_id))

    assert result == {
        "status": "ready_for_claiming",
        "speakers": 2,
        "auto_claimed": 0,
        "segments": 2,
        "skipped_chunks": [],
        "duration_seconds": 0.75,
    }
    first = await saved(resources, session_id)
    recording = first.session
    assert (recording.status, recording.stage, recording.progress) == (
        SessionStatus.READY_FOR_CLAIMING,
        "done",
        100,
    )
    assert recording.duration_seconds == pytest.approx(0.75)
    assert recording.lease_token is None
    assert recording.processed_at is not None
    assert first.speakers == {
        "SPEAKER_00": {
            "counts": {"walao": 1, "lah": 1},
            "segments": 1,
            "sample": f"{samples_prefix(session_id)}speaker_00.mp3",
            "embedding": True,
        },
        "SPEAKER_01": {
            "counts": {"can": 1},
            "segments": 1,
            "sample": f"{samples_prefix(session_id)}speaker_01.mp3",
            "embedding": False,
        },
    }
    assert await resources.blobs.get(f"{samples_prefix(session_id)}speaker_00.mp3") == (
        b"ID3SPEAKER_00"
    )
    assert first.transcript == [("while up lah", "walao lah"), ("can", "can")]
    stages = [stage for stage, _ in first.events]
    percents = [percent for _, percent in first.events]
    assert first.events[0] == ("queued", 0)
    assert first.events[-1] == ("done", 100)
    assert percents == sorted(percents)
    assert {"decode", "diarize", "transcribe", "saving", "sample"} <= set(stages)
    assert ("saving", 85) in first.events
    assert percents.count(100) == 1  # 100 is written with the results, never before

    await end_again(resources, session_id)
    again = await process_session(ctx(resources), str(session_id))

    assert again == result
    second = await saved(resources, session_id)
    assert second.speakers == first.speakers  # replaced, not added to: no doubled counts
    assert second.transcript == first.transcript
    assert second.session.status == SessionStatus.READY_FOR_CLAIMING
    assert fake_pipeline.models == [FAKE_MODELS, FAKE_MODELS]


async def test_bad_audio_fails_at_once_with_a_readable_message_and_keeps_the_chunks(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    session_id = await ended_session(
        resources, [(wav(), "audio/wav"), (b"<html>not audio at all</html>", "audio/mp4")]
    )

    result = await process_session(ctx(resources), str(session_id))

    after = await saved(resources, session_id)
    message = after.session.error_message
    assert result == {"failed": message}
    assert after.session.status == SessionStatus.FAILED
    assert after.session.stage == "failed"
    assert message is not None
    assert message.startswith("chunk 1 (audio/mp4) is not audio")
    assert "wav, flac" in message  # what to send instead
    assert "chunks are kept" in message
    assert after.chunks == 2
    async with resources.database.session() as db:
        for chunk in await ChunkRepository(db).list_for_session(session_id):
            assert await resources.blobs.exists(chunk.storage_key)
    assert after.events[-1][0] == "failed"
    assert after.speakers == {}
    assert fake_pipeline.calls == 1


async def test_a_storage_outage_is_retried_with_backoff_then_succeeds(
    resources: JobResources, fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)
    reads = flaky_blobs(resources, monkeypatch, failures=1)
    queue = in_process_queue(resources)

    assert await enqueue_processing(queue, session_id)
    await queue.join()

    after = await saved(resources, session_id)
    assert after.session.status == SessionStatus.READY_FOR_CLAIMING
    assert reads[0] == 1 + len(TWO_CHUNKS)  # one failed read, then a whole second try
    assert fake_pipeline.calls == 1
    await queue.close()


async def test_a_database_error_while_saving_rolls_everything_back_and_retries(
    resources: JobResources, fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)
    real_replace = TranscriptRepository.replace_for_session
    calls = [0]

    async def replace_once_failing(self: TranscriptRepository, *args: Any) -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise OperationalError("INSERT ...", None, ConnectionResetError("connection reset"))
        return await real_replace(self, *args)

    monkeypatch.setattr(TranscriptRepository, "replace_for_session", replace_once_failing)
    queue = in_process_queue(resources)
    assert await enqueue_processing(queue, session_id)
    await queue.join()

    after = await saved(resources, session_id)
    # Had the first save's "finish" survived, the retry would have found nothing to process.
    assert fake_pipeline.calls == 2
    assert after.session.status == SessionStatus.READY_FOR_CLAIMING
    assert [event for event in after.events if event[0] == "done"] == [("done", 100)]
    assert len(after.speakers) == 2
    await queue.close()


async def test_the_job_gives_up_after_its_tries_and_says_so(
    resources: JobResources, fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)
    reads = flaky_blobs(resources, monkeypatch, failures=100)
    queue = in_process_queue(resources)

    assert await enqueue_processing(queue, session_id)
    await queue.join()

    after = await saved(resources, session_id)
    assert after.session.status == SessionStatus.FAILED
    assert after.session.error_message is not None
    assert after.session.error_message.startswith(
        "gave up after 3 tries: storage unreachable: ConnectTimeout (Unavailable)."
    )
    assert reads[0] == 3
    assert after.session.lease_token is None
    await queue.close()


async def test_an_unexpected_error_fails_the_session_without_retrying_or_leaking_it(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    def explode() -> None:
        raise RuntimeError("password=hunter2 in a stack")

    fake_pipeline.before_analysis = explode
    session_id = await ended_session(resources, TWO_CHUNKS)
    queue = in_process_queue(resources)

    assert await enqueue_processing(queue, session_id)
    await queue.join()

    after = await saved(resources, session_id)
    message = after.session.error_message
    assert message is not None
    assert message.startswith("internal error during decode (RuntimeError); ")
    assert "hunter2" not in message
    assert after.session.progress == after.events[-1][1] == 10  # stopped after decoding
    assert fake_pipeline.calls == 1
    await queue.close()


async def test_missing_models_fail_the_session_with_the_fix(
    resources: JobResources, fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable() -> Any:
        raise ModelUnavailable(
            "the whisper-tiny weights are not installed", hint="Run `lahstats doctor`."
        )

    monkeypatch.setattr(resources.models, "get", unavailable)
    session_id = await ended_session(resources, TWO_CHUNKS)

    result = await process_session(ctx(resources), str(session_id))

    assert "failed" in result
    message = (await saved(resources, session_id)).session.error_message
    assert message == (
        "the server cannot process recordings right now: the whisper-tiny weights are not "
        "installed. Run `lahstats doctor`. The uploaded chunks are kept: end the session again "
        "later to retry."
    )


async def test_a_second_runner_skips_while_a_live_runner_holds_the_lease(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)
    async with resources.database.session() as db:
        assert await SessionRepository(db).acquire_lease(
            session_id, "live-runner", stale_before=utcnow() - timedelta(minutes=1)
        )

    result = await process_session(ctx(resources), str(session_id))

    assert result == {"skipped": "another runner holds the session's lease"}
    after = await saved(resources, session_id)
    assert after.session.status == SessionStatus.PROCESSING
    assert after.session.lease_token == "live-runner"
    assert after.speakers == {}
    assert fake_pipeline.calls == 0


async def test_a_job_for_a_session_no_longer_processing_does_nothing(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    session_id = await ended_session(resources, TWO_CHUNKS)
    await process_session(ctx(resources), str(session_id))

    late = await process_session(ctx(resources), str(session_id))
    missing = await process_session(ctx(resources), str(uuid.uuid4()))

    assert late == {"skipped": "the session is ready_for_claiming, not processing"}
    assert missing == {"skipped": "no such session"}
    assert fake_pipeline.calls == 1


async def test_a_runner_that_lost_its_lease_saves_nothing(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    # No heartbeat during the test; a runner silent for 0.1 s counts as dead.
    resources.settings = resources.settings.model_copy(
        update={"job_heartbeat_seconds": 60, "job_stale_seconds": 0.1}
    )
    taken_over = threading.Event()
    fake_pipeline.before_analysis = lambda: taken_over.wait(10) or None
    session_id = await ended_session(resources, TWO_CHUNKS)

    job = asyncio.create_task(process_session(ctx(resources), str(session_id)))
    await asyncio.sleep(0.3)
    async with resources.database.session() as db:
        assert await SessionRepository(db).acquire_lease(
            session_id, "usurper", stale_before=utcnow() - timedelta(seconds=0.1)
        )
    taken_over.set()
    result = await job

    assert result == {"skipped": "another runner took the session over"}
    after = await saved(resources, session_id)
    assert after.session.status == SessionStatus.PROCESSING
    assert after.session.lease_token == "usurper"
    assert after.speakers == {}
    assert not await resources.blobs.exists(f"{samples_prefix(session_id)}speaker_00.mp3")


async def test_the_heartbeat_keeps_a_long_run_s_lease_and_a_cancelled_run_frees_it(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    resources.settings = resources.settings.model_copy(
        update={"job_heartbeat_seconds": 0.05, "job_stale_seconds": 0.3}
    )
    release = threading.Event()
    fake_pipeline.before_analysis = lambda: release.wait(10) or None
    session_id = await ended_session(resources, TWO_CHUNKS)
    try:
        job = asyncio.create_task(process_session(ctx(resources), str(session_id)))
        await asyncio.sleep(0.8)  # no progress meanwhile: only the heartbeat says it is alive
        async with resources.database.session() as db:
            sessions = SessionRepository(db)
            stale_before = utcnow() - timedelta(seconds=0.3)
            assert not await sessions.acquire_lease(session_id, "x", stale_before=stale_before)

        job.cancel()  # a worker shutting down
        with pytest.raises(asyncio.CancelledError):
            await job
        after = await saved(resources, session_id)
        assert after.session.status == SessionStatus.PROCESSING
        assert after.session.lease_token is None  # the next runner need not wait for staleness
    finally:
        release.set()


@dataclass
class RecordingQueue:
    backend: str = "recording"
    jobs: list[tuple[str, tuple[Any, ...], str | None]] = field(default_factory=list)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool:
        if any(queued == job_id for _, _, queued in self.jobs):
            return False
        self.jobs.append((function, args, job_id))
        return True

    async def ping(self) -> str:
        return "recording"

    async def close(self) -> None:
        return None


async def test_a_stale_session_is_picked_up_once_and_processed(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    resources.settings = resources.settings.model_copy(update={"job_stale_seconds": 0.2})
    orphan = await ended_session(resources, TWO_CHUNKS)
    async with resources.database.session() as db:
        # A runner took it, then its process died: the lease stays, the heartbeat stops.
        assert await SessionRepository(db).acquire_lease(
            orphan, "crashed-runner", stale_before=utcnow()
        )
        crashed = await SessionRepository(db).get(orphan)
    assert crashed is not None
    assert crashed.heartbeat_at is not None
    await asyncio.sleep(0.3)

    sweepers = RecordingQueue()
    assert await recover_stale(resources.database, sweepers, resources.settings) == [orphan]
    assert await recover_stale(resources.database, sweepers, resources.settings) == []
    assert sweepers.jobs == [
        (
            "process_session",
            (str(orphan),),
            processing_job_id(orphan, recovering=crashed.heartbeat_at),
        )
    ]
    assert sweepers.jobs[0][2] != processing_job_id(orphan)  # ARQ's leftover key can't block it

    queue = in_process_queue(resources)
    assert await recover_stale(resources.database, queue, resources.settings) == [orphan]
    await queue.join()
    after = await saved(resources, orphan)
    assert after.session.status == SessionStatus.READY_FOR_CLAIMING
    assert after.session.lease_token is None
    assert await recover_stale(resources.database, queue, resources.settings) == []
    await queue.close()


async def test_the_sweeper_recovers_at_start_up_and_stops_cleanly(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    resources.settings = resources.settings.model_copy(
        update={"job_stale_seconds": 0.05, "recovery_interval_seconds": 60}
    )
    orphan = await ended_session(resources, TWO_CHUNKS)  # queued, but the job was lost
    await asyncio.sleep(0.1)
    queue = RecordingQueue()
    sweeper = Sweeper(resources.database, queue, resources.settings)

    sweeper.start()
    for _ in range(100):
        if queue.jobs:
            break
        await asyncio.sleep(0.02)
    await asyncio.wait_for(sweeper.stop(), timeout=5)

    assert [args for _, args, _ in queue.jobs] == [(str(orphan),)]


@pytest.mark.redis
async def test_arq_worker_processes_a_session_retrying_a_storage_outage(
    resources: JobResources,
    fake_pipeline: FakePipeline,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    queue_name: str,
) -> None:
    resources.settings = resources.settings.model_copy(
        update={"redis_url": redis_url, "queue_name": queue_name}
    )
    session_id = await ended_session(resources, TWO_CHUNKS)
    flaky_blobs(resources, monkeypatch, failures=1)
    queue = ArqQueue(redis_url, queue_name=queue_name)
    try:
        assert await enqueue_processing(queue, session_id)
        assert not await enqueue_processing(queue, session_id)  # ended twice: one job

        worker = build_worker(resources.settings, resources, handle_signals=False, burst=True)
        await worker.main()
        await worker.close()

        after = await saved(resources, session_id)
        assert after.session.status == SessionStatus.READY_FOR_CLAIMING
        assert (worker.jobs_retried, worker.jobs_complete, worker.jobs_failed) == (1, 1, 0)
        # No result kept: the same id is free again at once.
        assert not await queue.redis.exists(f"arq:result:{processing_job_id(session_id)}")
    finally:
        await queue.close()


@pytest.mark.redis
async def test_arq_failed_job_does_not_block_ending_the_session_again(
    resources: JobResources,
    fake_pipeline: FakePipeline,
    redis_url: str,
    queue_name: str,
) -> None:
    resources.settings = resources.settings.model_copy(
        update={"redis_url": redis_url, "queue_name": queue_name}
    )
    session_id = await ended_session(resources, [(b"definitely not audio", "audio/wav")])
    queue = ArqQueue(redis_url, queue_name=queue_name)
    try:
        assert await enqueue_processing(queue, session_id)
        for _ in range(2):
            worker = build_worker(resources.settings, resources, handle_signals=False, burst=True)
            await worker.main()
            await worker.close()
            after = await saved(resources, session_id)
            assert after.session.status == SessionStatus.FAILED
            await end_again(resources, session_id, from_status=SessionStatus.FAILED)
            assert await enqueue_processing(queue, session_id)  # not blocked by the failure
        assert fake_pipeline.calls == 2
    finally:
        await queue.redis.delete(queue_name, f"arq:job:{processing_job_id(session_id)}")
        await queue.close()


async def test_the_sweep_queues_again_the_chunk_jobs_of_a_recording_that_were_lost(
    resources: JobResources,
) -> None:
    resources.settings = resources.settings.model_copy(update={"job_stale_seconds": 0.05})
    recording = await recording_session(resources, TWO_CHUNKS)
    async with resources.database.session() as db:
        looked = await ChunkRepository(db).get(recording, 0)
        assert looked is not None
        await ChunkAnalysisRepository(db).put(
            ChunkAnalysis(
                session_id=recording,
                chunk_number=0,
                sha256=looked.sha256,
                models="m",
                digest="d",
                result=b"look",
            )
        )
    ended = await ended_session(resources, TWO_CHUNKS)  # not recording: end looks at its chunks
    await asyncio.sleep(0.1)
    queue = RecordingQueue()

    assert await recover_lost_chunks(resources.database, queue, resources.settings) == [
        (recording, 1)
    ]
    assert await recover_lost_chunks(resources.database, queue, resources.settings) == []
    ((name, args, job_id),) = queue.jobs
    assert (name, args) == ("analyze_chunk", (str(recording), 1))
    assert job_id is not None
    assert job_id.endswith(":again")
    assert str(ended) not in job_id


async def test_the_sweep_gives_a_long_chunk_its_own_length_before_it_counts_as_lost(
    resources: JobResources,
) -> None:
    # a whole hour uploaded as one file is looked at for minutes: its job is not lost meanwhile
    resources.settings = resources.settings.model_copy(update={"job_stale_seconds": 0.05})
    recording = await recording_session(resources, TWO_CHUNKS, durations=[1.0, 3600.0])
    await asyncio.sleep(1.2)
    queue = RecordingQueue()

    assert await recover_lost_chunks(resources.database, queue, resources.settings) == [
        (recording, 0)
    ]
