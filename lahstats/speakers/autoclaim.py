"""Auto-claiming: in groups that opt in, confident voice matches become claims after processing."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.settings import Settings
from lahstats.speakers.claims import ClaimService
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import GroupRepository, SessionRepository, SpeakerRepository


async def claim_matching_voices(
    db: AsyncSession, session_id: uuid.UUID, settings: Settings
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(speaker id, user id)`` of each claim made; none unless the group turned it on."""
    recording = await SessionRepository(db).get(session_id)
    if recording is None or recording.status != SessionStatus.READY_FOR_CLAIMING:
        return []
    group = await GroupRepository(db).get(recording.group_id)
    if group is None or not group.auto_claim_voices:
        return []
    speakers = await SpeakerRepository(db).list_for_session(session_id)
    suggestions = await VoiceprintService(db).suggestions(recording, speakers, settings)
    claims = ClaimService(db)
    made = []
    for speaker_id, suggestion in sorted(suggestions.items(), key=lambda s: -s[1].confidence):
        if suggestion.confidence < settings.voice_auto_claim_confidence:
            continue
        if await claims.auto_claim(recording, speaker_id, suggestion.user_id):
            made.append((speaker_id, suggestion.user_id))
    return made
