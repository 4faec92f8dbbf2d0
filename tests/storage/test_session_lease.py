"""The processing lease on a session: one runner at a time, taken over only from a dead one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lahstats.storage.database import Database
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import GroupRepository, ProfileRepository, SessionRepository

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=5)


async def _session(
    db: Database, *, processing: bool = True, ended_at: datetime | None = None
) -> uuid.UUID:
    async with db.session() as s:
        owner = await ProfileRepository(s).ensure(
            uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@x.sg"
        )
        group = await GroupRepository(s).create(
            name="Lepak", invite_code=uuid.uuid4().hex[:8], owner_id=owner.id
        )
        recording = await SessionRepository(s).create(group_id=group.id, started_by=owner.id)
        if processing:
            assert await SessionRepository(s).transition(
                recording.id,
                from_statuses=[SessionStatus.RECORDING],
                to_status=SessionStatus.PROCESSING,
                ended_at=ended_at or datetime.now(UTC),
                stage="queued",
            )
        return recording.id


async def test_lease_is_taken_once_while_its_holder_beats(database: Database) -> None:
    session_id = await _session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert await sessions.acquire_lease(session_id, "first", stale_before=LONG_AGO)
        assert not await sessions.acquire_lease(session_id, "second", stale_before=LONG_AGO)
        assert await sessions.beat(session_id, "first")
        assert not await sessions.beat(session_id, "second")
        recording = await sessions.get(session_id)
        assert recording is not None
        assert recording.lease_token == "first"
        assert recording.heartbeat_at is not None


async def test_a_silent_holder_loses_the_lease_and_then_its_writes(database: Database) -> None:
    session_id = await _session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert await sessions.acquire_lease(session_id, "dead", stale_before=LONG_AGO)
        # Its last heartbeat is older than the caller's limit: the runner is taken for dead.
        assert await sessions.acquire_lease(session_id, "alive", stale_before=_soon())
        assert not await sessions.beat(session_id, "dead")
        assert not await sessions.record_progress(
            session_id, stage="diarize", progress=30, token="dead"
        )
        assert not await sessions.finish(session_id, "dead", duration_seconds=12.0, speaker_count=2)
        assert not await sessions.fail(session_id, "too late", token="dead")
        assert await sessions.record_progress(
            session_id, stage="diarize", progress=30, token="alive"
        )
        recording = await sessions.get(session_id)
        assert recording is not None
        assert (recording.status, recording.stage, recording.progress) == (
            SessionStatus.PROCESSING,
            "diarize",
            30,
        )


async def test_a_released_lease_is_free_at_once(database: Database) -> None:
    session_id = await _session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert await sessions.acquire_lease(session_id, "first", stale_before=LONG_AGO)
        assert not await sessions.release_lease(session_id, "someone-else")
        assert await sessions.release_lease(session_id, "first")
        assert await sessions.acquire_lease(session_id, "retry", stale_before=LONG_AGO)
        recording = await sessions.get(session_id)
        assert recording is not None
        assert recording.status == SessionStatus.PROCESSING  # releasing changes nothing else


async def test_only_a_processing_session_can_be_leased(database: Database) -> None:
    session_id = await _session(database, processing=False)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert not await sessions.acquire_lease(session_id, "t", stale_before=_soon())
        assert not await sessions.acquire_lease(uuid.uuid4(), "t", stale_before=_soon())


async def test_finish_makes_the_session_claimable_or_complete(database: Database) -> None:
    with_speakers = await _session(database)
    silent = await _session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        for session_id in (with_speakers, silent):
            assert await sessions.acquire_lease(session_id, "job", stale_before=LONG_AGO)
        assert await sessions.finish(with_speakers, "job", duration_seconds=16.2, speaker_count=2)
        assert await sessions.finish(silent, "job", duration_seconds=3.0, speaker_count=0)
        assert not await sessions.finish(silent, "job", duration_seconds=3.0, speaker_count=0)
        done = await sessions.get(with_speakers)
        nobody = await sessions.get(silent)
    assert done is not None
    assert nobody is not None
    assert done.status == SessionStatus.READY_FOR_CLAIMING
    assert nobody.status == SessionStatus.COMPLETED
    assert (done.progress, done.stage, done.duration_seconds) == (100, "done", 16.2)
    assert done.processed_at is not None
    assert done.lease_token is None
    assert done.error_message is None


async def test_fail_records_the_reason_and_frees_the_session(database: Database) -> None:
    leased = await _session(database)
    orphan = await _session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert await sessions.acquire_lease(leased, "job", stale_before=LONG_AGO)
        assert await sessions.record_progress(leased, stage="decode", progress=7, token="job")
        assert not await sessions.fail(leased, "not yours", token="other")
        assert await sessions.fail(leased, "chunk 2 is not audio", token="job")
        assert await sessions.fail(orphan, "gave up")  # no token: whoever holds it
        assert not await sessions.fail(orphan, "twice")  # no longer processing
        failed = await sessions.get(leased)
    assert failed is not None
    assert (failed.status, failed.stage, failed.progress) == (SessionStatus.FAILED, "failed", 7)
    assert failed.error_message == "chunk 2 is not audio"
    assert failed.lease_token is None


async def test_stale_sessions_include_those_queued_but_never_started(database: Database) -> None:
    never_started = await _session(database, ended_at=datetime.now(UTC) - timedelta(hours=1))
    just_queued = await _session(database)
    running = await _session(database, ended_at=datetime.now(UTC) - timedelta(hours=1))
    recording = await _session(database, processing=False)
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert await sessions.acquire_lease(running, "job", stale_before=LONG_AGO)
        minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        stale = await sessions.list_stale_processing_since(heartbeat_before=minute_ago)
        assert set(stale) == {never_started}
        assert stale[never_started] < minute_ago

        later = _soon()
        stale = await sessions.list_stale_processing_since(heartbeat_before=later)
        assert set(stale) == {never_started, just_queued, running}
        assert recording not in stale
        leased = await sessions.get(running)
        assert leased is not None
        assert stale[running] == leased.heartbeat_at  # the heartbeat wins over the end time
        assert set(await sessions.list_stale_processing(heartbeat_before=later)) == set(stale)
