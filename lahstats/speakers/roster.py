"""The speakers of a session as its members see them: labels, speaking time, counts, claims."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.sessions.access import session_for_member
from lahstats.settings import Settings
from lahstats.speakers.matching import Suggestion
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.models import SessionSpeaker
from lahstats.storage.repositories import SpeakerRepository


@dataclass(frozen=True, slots=True)
class SpeakerView:
    speaker: SessionSpeaker
    word_counts: Mapping[str, int]
    # Whose voice this most likely is, for unclaimed speakers that match a member's voiceprint.
    suggestion: Suggestion | None = None


async def session_speakers(
    db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID, settings: Settings
) -> list[SpeakerView]:
    """Every speaker found in the session, by label; empty until it has been processed."""
    recording = await session_for_member(db, session_id, user_id)
    speakers = SpeakerRepository(db)
    counts = await speakers.word_counts(session_id)
    found = await speakers.list_for_session(session_id)
    suggestions = await VoiceprintService(db).suggestions(recording, found, settings)
    return [
        SpeakerView(
            speaker,
            dict(sorted(counts.get(speaker.id, {}).items())),
            suggestions.get(speaker.id),
        )
        for speaker in found
    ]
