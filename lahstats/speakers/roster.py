"""The speakers of a session as its members see them: labels, speaking time, counts, claims,
a sample to play and, for an unclaimed voice that matches a member's, whose it likely is."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.sessions.access import session_for_member
from lahstats.settings import Settings
from lahstats.speakers.schemas import SpeakerOut, SpeakersOut
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.repositories import SpeakerRepository
from lahstats.storage.signing import media_path

# How long a sample's signed link plays: a claiming sitting, not a shareable address.
SAMPLE_URL_TTL_SECONDS = 6 * 3600


class RosterService:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def speakers(
        self, session_id: uuid.UUID, user_id: uuid.UUID, *, base_url: str
    ) -> SpeakersOut:
        """Every speaker found in the session, by label; empty until it has been processed.

        Samples are linked under ``base_url`` (the address the caller reached the API at).
        """
        recording = await session_for_member(self.db, session_id, user_id)
        speakers = SpeakerRepository(self.db)
        counts = await speakers.word_counts(session_id)
        found = await speakers.list_for_session(session_id)
        suggestions = await VoiceprintService(self.db).suggestions(recording, found, self.settings)
        secret = self.settings.jwt_signing_secret()
        base = base_url.rstrip("/")
        out = []
        for speaker in found:
            key = speaker.sample_storage_key
            suggestion = suggestions.get(speaker.id)
            out.append(
                SpeakerOut(
                    id=speaker.id,
                    speaker_label=speaker.speaker_label,
                    sample_audio_url=base
                    + media_path(key, secret=secret, ttl_seconds=SAMPLE_URL_TTL_SECONDS)
                    if key
                    else None,
                    total_duration_seconds=round(speaker.total_duration_seconds, 2),
                    segment_count=speaker.segment_count,
                    word_counts=dict(sorted(counts.get(speaker.id, {}).items())),
                    claimed_by=speaker.claimed_by,
                    claim_type=speaker.claim_type,
                    attributed_to_user_id=speaker.attributed_to_user_id,
                    guest_name=speaker.guest_name,
                    suggested_user_id=suggestion.user_id if suggestion else None,
                    suggestion_confidence=suggestion.confidence if suggestion else None,
                )
            )
        return SpeakersOut(speakers=out)
