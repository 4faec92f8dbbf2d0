"""Sessions as the API leaves them for the job: chunks stored, ended into ``processing``."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from lahstats.jobs.context import JobResources
from lahstats.storage.keys import chunk_key
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    GroupRepository,
    ProfileRepository,
    SessionRepository,
)
from lahstats.storage.types import utcnow


def wav(seconds: float = 0.5, *, rate: int = 16_000) -> bytes:
    """A short tone as WAV bytes: real audio the decoder accepts."""
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


async def ended_session(resources: JobResources, chunks: Sequence[tuple[bytes, str]]) -> uuid.UUID:
    """A session whose chunks (bytes, content type) are stored, ended as the API ends it."""
    session_id = await recording_session(resources, chunks)
    await end_again(resources, session_id, from_status=SessionStatus.RECORDING)
    return session_id


async def recording_session(
    resources: JobResources,
    chunks: Sequence[tuple[bytes, str]],
    durations: Sequence[float | None] = (),
) -> uuid.UUID:
    """A session still recording, whose chunks (bytes, content type) are stored, with the
    decoded durations the upload would have found when given."""
    async with resources.database.session() as db:
        owner = await ProfileRepository(db).ensure(uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.sg")
        group = await GroupRepository(db).create(
            name="Kopi", invite_code=uuid.uuid4().hex[:8], owner_id=owner.id
        )
        recording = await SessionRepository(db).create(group_id=group.id, started_by=owner.id)
        for number, (data, content_type) in enumerate(chunks):
            sha = hashlib.sha256(data).hexdigest()
            key = chunk_key(recording.id, number, sha, content_type.rsplit("/", 1)[-1])
            await resources.blobs.put(key, data, content_type=content_type)
            await ChunkRepository(db).add(
                session_id=recording.id,
                chunk_number=number,
                storage_key=key,
                content_type=content_type,
                size_bytes=len(data),
                sha256=sha,
                duration_seconds=durations[number] if number < len(durations) else None,
            )
    return recording.id


async def end_again(
    resources: JobResources,
    session_id: uuid.UUID,
    *,
    from_status: SessionStatus = SessionStatus.READY_FOR_CLAIMING,
) -> None:
    """What ``POST /sessions/{id}/end`` does: back to processing, queued at 0."""
    async with resources.database.session() as db:
        assert await SessionRepository(db).transition(
            session_id,
            from_statuses=[from_status],
            to_status=SessionStatus.PROCESSING,
            ended_at=utcnow(),
            progress=0,
            stage="queued",
            error_message=None,
            heartbeat_at=None,
        )
        await EventRepository(db).append(session_id, stage="queued", progress=0)
