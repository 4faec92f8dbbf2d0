"""Chunk retention on SQLite and PostgreSQL: chunk blobs of sessions processed over N days ago go
(their rows, samples and results stay), nothing else is touched, a dry run deletes nothing, a
second run finds nothing, and a purged session cannot be processed again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from lahstats.errors import Conflict
from lahstats.sessions.lifecycle import SessionService
from lahstats.sessions.retention import chunks_prefix, purge_expired_chunks
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database
from lahstats.storage.keys import chunk_key, sample_key
from lahstats.storage.models import RecordingSession, SessionStatus
from lahstats.storage.repositories import ChunkRepository
from lahstats.storage.types import utcnow
from tests.sessions.stored import age, owner_and_group, stored_session

S = SessionStatus


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


async def chunk_blobs(blobs: LocalBlobStore, session_id: uuid.UUID) -> list[Path]:
    folder = blobs.root / chunks_prefix(session_id)
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def purged_at(database: Database, session_id: uuid.UUID) -> object:
    async with database.session() as db:
        recording = await db.get(RecordingSession, session_id)
        assert recording is not None
        return recording.chunks_purged_at


async def test_chunks_of_old_processed_sessions_go_and_the_rest_stays(
    database: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    user, group = await owner_and_group(database)
    made: dict[str, uuid.UUID] = {}
    for name, status, days in [
        ("ready_old", S.READY_FOR_CLAIMING, 40),
        ("completed_old", S.COMPLETED, 31),
        ("failed_old", S.FAILED, 45),
        ("ready_recent", S.READY_FOR_CLAIMING, 29),
        ("recording_old", S.RECORDING, 60),
        ("processing_old", S.PROCESSING, 60),
    ]:
        made[name] = await stored_session(
            database, blobs, user_id=user, group_id=group, status=status
        )
        await age(database, made[name], days=days)
    # A blob whose row never got written (an upload that died half-way) goes too.
    orphan = chunk_key(made["ready_old"], 7, "f" * 64, "wav")
    await blobs.put(orphan, b"orphan", content_type="audio/wav")
    expired = {made["ready_old"], made["completed_old"], made["failed_old"]}

    dry = await purge_expired_chunks(database, blobs, settings, dry_run=True, batch_size=2)
    assert {found.session_id for found in dry.sessions} == expired
    assert dry.chunks == 6
    assert dry.bytes > 0
    assert dry.blobs_deleted == 0
    for session_id in made.values():
        assert await chunk_blobs(blobs, session_id)
        assert await purged_at(database, session_id) is None

    done = await purge_expired_chunks(database, blobs, settings, batch_size=2)
    assert {found.session_id for found in done.sessions} == expired
    assert done.blobs_deleted == 6 + 1
    for name, session_id in made.items():
        async with database.session() as db:
            rows = await ChunkRepository(db).list_for_session(session_id)
        assert len(rows) == 2, name  # rows stay, as a record of the upload
        if session_id in expired:
            assert await chunk_blobs(blobs, session_id) == [], name
            assert await purged_at(database, session_id) is not None, name
        else:
            assert len(await chunk_blobs(blobs, session_id)) == 2, name
            assert await purged_at(database, session_id) is None, name
    assert await blobs.exists(sample_key(made["ready_old"], "SPEAKER_00"))  # samples stay

    again = await purge_expired_chunks(database, blobs, settings)
    assert again.sessions == ()
    assert again.blobs_deleted == 0


async def test_the_period_comes_from_settings_and_now(
    database: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    user, group = await owner_and_group(database)
    session_id = await stored_session(
        database, blobs, user_id=user, group_id=group, status=S.COMPLETED
    )
    await age(database, session_id, days=8)
    month = await purge_expired_chunks(database, blobs, settings, dry_run=True)
    week = settings.model_copy(update={"chunk_retention_days": 7})
    assert month.sessions == ()
    weekly = await purge_expired_chunks(database, blobs, week, dry_run=True)
    assert [found.session_id for found in weekly.sessions] == [session_id]
    later = await purge_expired_chunks(database, blobs, settings, now=utcnow() + timedelta(days=23))
    assert [found.session_id for found in later.sessions] == [session_id]
    assert await chunk_blobs(blobs, session_id) == []


async def test_a_purged_session_cannot_be_processed_again(
    database: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    user, group = await owner_and_group(database)
    purged = await stored_session(database, blobs, user_id=user, group_id=group, status=S.FAILED)
    kept = await stored_session(database, blobs, user_id=user, group_id=group, status=S.FAILED)
    await age(database, purged, days=31)
    await purge_expired_chunks(database, blobs, settings)

    with pytest.raises(Conflict, match="audio was deleted") as refused:
        async with database.session() as db:
            await SessionService(db).end(purged, user)
    assert "new session" in refused.value.hint
    async with database.session() as db:
        recording = await db.get(RecordingSession, purged)
        assert recording is not None
        assert recording.status == S.FAILED
        assert (await SessionService(db).end(kept, user)).queued  # its chunks are still there


def test_chunk_keys_live_under_the_purged_prefix() -> None:
    session_id = uuid.uuid4()
    assert chunk_key(session_id, 3, "a" * 64, "m4a").startswith(chunks_prefix(session_id))
    assert not sample_key(session_id, "SPEAKER_00").startswith(chunks_prefix(session_id))


@pytest.mark.parametrize("days", [0, -1], ids=["zero", "negative"])
def test_the_period_is_at_least_a_day(days: int) -> None:
    with pytest.raises(ValidationError, match="chunk_retention_days"):
        Settings(chunk_retention_days=days)
