"""A session's transcript: who said what when, as heard and as corrected."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.sessions.access import session_for_member
from lahstats.sessions.schemas import TranscriptLineOut, TranscriptOut
from lahstats.storage.repositories import SpeakerRepository, TranscriptRepository


async def transcript(db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID) -> TranscriptOut:
    await session_for_member(db, session_id, user_id)
    labels = {
        speaker.id: speaker.speaker_label
        for speaker in await SpeakerRepository(db).list_for_session(session_id)
    }
    return TranscriptOut(
        segments=[
            TranscriptLineOut(
                speaker_id=segment.speaker_id,
                speaker_label=labels.get(segment.speaker_id) if segment.speaker_id else None,
                start_seconds=round(segment.start_seconds, 2),
                end_seconds=round(segment.end_seconds, 2),
                text=segment.corrected_text,
                raw_text=segment.raw_text,
            )
            for segment in await TranscriptRepository(db).list_for_session(session_id)
        ]
    )
