"""Sessions with chunk blobs, made through the repositories, aged on demand: what retention
tests purge."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from lahstats.storage.blobs import BlobStore
from lahstats.storage.database import Database
from lahstats.storage.keys import chunk_key, sample_key
from lahstats.storage.models import RecordingSession, SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    GroupRepository,
    NewSpeaker,
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
)
from lahstats.storage.types import utcnow

_PATH = {
    SessionStatus.RECORDING: [],
    SessionStatus.PROCESSING: [SessionStatus.PROCESSING],
    SessionStatus.FAILED: [SessionStatus.PROCESSING, SessionStatus.FAILED],
    SessionStatus.READY_FOR_CLAIMING: [SessionStatus.PROCESSING, SessionStatus.READY_FOR_CLAIMING],
    SessionStatus.COMPLETED: [SessionStatus.PROCESSING, SessionStatus.COMPLETED],
}


async def owner_and_group(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.session() as db:
        user = await ProfileRepository(db).ensure(uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.sg")
        group = await GroupRepository(db).create(
            name="Kopi", invite_code=uuid.uuid4().hex[:10], owner_id=user.id
        )
        return user.id, group.id


async def stored_session(
    database: Database,
    blobs: BlobStore,
    *,
    user_id: uuid.UUID,
    group_id: uuid.UUID,
    status: SessionStatus,
    chunks: int = 2,
) -> uuid.UUID:
    """A session in ``status`` with ``chunks`` chunk rows and blobs and, once processed, one
    speaker with a sample blob."""
    async with database.session() as db:
        recording = await SessionRepository(db).create(group_id=group_id, started_by=user_id)
        for number in range(chunks):
            data = f"chunk {number} of {recording.id}".encode()
            sha = hashlib.sha256(data).hexdigest()
            key = chunk_key(recording.id, number, sha, "wav")
            await blobs.put(key, data, content_type="audio/wav")
            await ChunkRepository(db).add(
                session_id=recording.id,
                chunk_number=number,
                storage_key=key,
                content_type="audio/wav",
                size_bytes=len(data),
                sha256=sha,
            )
        current = SessionStatus.RECORDING
        for step in _PATH[status]:
            done = step in (SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED)
            extra = {"processed_at": utcnow()} if done else {}
            assert await SessionRepository(db).transition(
                recording.id, from_statuses=[current], to_status=step, **extra
            )
            current = step
        if status in (SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED):
            key = sample_key(recording.id, "SPEAKER_00")
            await blobs.put(key, b"sample", content_type="audio/mpeg")
            await SpeakerRepository(db).replace_for_session(
                recording.id,
                [NewSpeaker("SPEAKER_00", 1, 5.0, {"lah": 2}, sample_storage_key=key)],
            )
        return recording.id


async def age(database: Database, session_id: uuid.UUID, *, days: float) -> None:
    """Moves every clock of the session ``days`` into the past."""
    then = utcnow() - timedelta(days=days)
    async with database.session() as db:
        recording = await db.get(RecordingSession, session_id)
        assert recording is not None
        recording.started_at = recording.updated_at = then
        recording.ended_at = recording.ended_at and then
        recording.heartbeat_at = recording.heartbeat_at and then
        recording.processed_at = recording.processed_at and then
