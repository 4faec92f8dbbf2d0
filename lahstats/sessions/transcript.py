"""A session's transcript: who said what when, as heard and as corrected."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.sessions.access import session_for_member
from lahstats.storage.models import TranscriptSegment
from lahstats.storage.repositories import SpeakerRepository, TranscriptRepository


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    segment: TranscriptSegment
    speaker_label: str | None


async def transcript(
    db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> list[TranscriptLine]:
    await session_for_member(db, session_id, user_id)
    labels = {
        speaker.id: speaker.speaker_label
        for speaker in await SpeakerRepository(db).list_for_session(session_id)
    }
    return [
        TranscriptLine(segment, labels.get(segment.speaker_id) if segment.speaker_id else None)
        for segment in await TranscriptRepository(db).list_for_session(session_id)
    ]
