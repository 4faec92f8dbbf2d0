"""Voiceprints kept up to date, and suggestions of who a session's speakers are.

A user's voiceprint (per embedding model: voices are only compared within one model's space) is
``matching.robust_average`` of the embeddings of every speaker attributed to them and of their
enrolments. It is rebuilt from those sources on each claim, unclaim and enrolment, so it never
drifts from what is claimed. Suggestions compare a session's unclaimed speakers with the
voiceprints of the group's members who have no speaker in that session yet.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.settings import Settings
from lahstats.speakers.matching import (
    Suggestion,
    Vector,
    from_bytes,
    robust_average,
    suggest,
    to_bytes,
)
from lahstats.storage.models import RecordingSession, SessionSpeaker
from lahstats.storage.repositories.voices import VoiceRepository


class VoiceprintService:
    def __init__(self, session: AsyncSession) -> None:
        self._voices = VoiceRepository(session)

    async def refresh(self, user_ids: Iterable[uuid.UUID | None]) -> None:
        """Rebuilds the users' voiceprints from what is attributed to them now."""
        users = {user for user in user_ids if user is not None}
        if not users:
            return
        by_user: dict[uuid.UUID, dict[str, list[Vector]]] = {u: defaultdict(list) for u in users}
        for stored in await self._voices.attributed_embeddings(users):
            by_user[stored.user_id][stored.model].append(from_bytes(stored.vector))
        for user, by_model in by_user.items():
            prints = []
            for model, vectors in by_model.items():
                average, kept = robust_average(vectors)
                prints.append((model, to_bytes(average), kept))
            await self._voices.replace_voiceprints(user, prints)

    async def suggestions(
        self,
        recording: RecordingSession,
        speakers: Sequence[SessionSpeaker],
        settings: Settings,
    ) -> dict[uuid.UUID, Suggestion]:
        """``{speaker id: Suggestion}`` for unclaimed speakers whose voice matches a member's."""
        voices = {
            speaker.id: (speaker.embedding_model, from_bytes(speaker.voice_embedding))
            for speaker in speakers
            if speaker.claim_type is None and speaker.voice_embedding and speaker.embedding_model
        }
        if not voices:
            return {}
        present = {s.attributed_to_user_id for s in speakers if s.attributed_to_user_id}
        candidates = [
            member
            for member in await self._voices.group_member_ids(recording.group_id)
            if member not in present
        ]
        if not candidates:
            return {}
        prints = await self._voices.voiceprints(candidates)
        found: dict[uuid.UUID, Suggestion] = {}
        for model in {model for model, _ in voices.values()}:
            found |= suggest(
                {sid: vector for sid, (m, vector) in voices.items() if m == model},
                {p.user_id: from_bytes(p.vector) for p in prints if p.embedding_model == model},
                threshold=settings.voice_match_threshold,
                scale=settings.voice_match_scale,
            )
        return found
