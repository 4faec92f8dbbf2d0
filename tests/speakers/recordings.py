"""Builders for claim and Wrapped tests: people, groups and processed sessions, made through the
repositories the way the API and the job make them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from lahstats.speakers.matching import to_bytes, unit
from lahstats.storage.database import Database
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    GroupRepository,
    NewSpeaker,
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
)


async def person(db: Database, email: str, *, name: str | None = None) -> uuid.UUID:
    async with db.session() as s:
        return (await ProfileRepository(s).ensure(uuid.uuid4(), email=email, display_name=name)).id


async def group(
    db: Database, owner: uuid.UUID, *members: uuid.UUID, name: str = "Kopi"
) -> uuid.UUID:
    async with db.session() as s:
        groups = GroupRepository(s)
        created = await groups.create(name=name, invite_code=uuid.uuid4().hex[:10], owner_id=owner)
        for member in members:
            await groups.add_member(created.id, member)
        return created.id


async def recording(
    db: Database,
    *,
    group_id: uuid.UUID,
    started_by: uuid.UUID,
    speakers: Mapping[str, Mapping[str, int]],
    started_at: datetime | None = None,
    duration_seconds: float = 90.0,
    status: SessionStatus = SessionStatus.READY_FOR_CLAIMING,
    voices: Mapping[str, Sequence[float]] | None = None,
    voice_model: str = "test-voices",
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A session moved through its status machine to ``status``, with ``{label: counts}`` and,
    optionally, ``{label: voice embedding}``."""
    voices = voices or {}
    async with db.session() as s:
        sessions = SessionRepository(s)
        created = await sessions.create(group_id=group_id, started_by=started_by)
        if started_at is not None:
            assert await sessions.transition(
                created.id,
                from_statuses=[SessionStatus.RECORDING],
                to_status=SessionStatus.RECORDING,
                started_at=started_at,
            )
        ids = await SpeakerRepository(s).replace_for_session(
            created.id,
            [
                NewSpeaker(
                    label,
                    segment_count=3,
                    total_duration_seconds=12.5,
                    word_counts=counts,
                    voice_embedding=to_bytes(unit(voices[label])) if label in voices else None,
                    embedding_model=voice_model if label in voices else None,
                )
                for label, counts in speakers.items()
            ],
        )
        path = {
            SessionStatus.RECORDING: [],
            SessionStatus.PROCESSING: [SessionStatus.PROCESSING],
            SessionStatus.FAILED: [SessionStatus.PROCESSING, SessionStatus.FAILED],
            SessionStatus.READY_FOR_CLAIMING: [
                SessionStatus.PROCESSING,
                SessionStatus.READY_FOR_CLAIMING,
            ],
        }[status]
        current = SessionStatus.RECORDING
        for step in path:
            extra = (
                {"duration_seconds": duration_seconds, "processed_at": datetime.now(UTC)}
                if step is SessionStatus.READY_FOR_CLAIMING
                else {}
            )
            assert await sessions.transition(
                created.id, from_statuses=[current], to_status=step, **extra
            )
            current = step
        return created.id, ids
