"""Claiming speakers: saying whose voice a diarized speaker was, and unsaying it.

    self   the caller's own voice         -> its counts become word-count rows of the caller
    user   another member of the group    -> ... rows of that member
    guest  someone without an account     -> a name only; no rows

Counts are dated by the session's start (Wrapped counts by when words were said). When no speaker
is left unclaimed the session is ``completed``; unclaiming reopens it. Claims and unclaims of one
session take turns (``SpeakerRepository.lock_for_session``), and the claim itself is a conditional
update, so of two racing claims of one speaker exactly one wins. The service never commits (the
caller's unit of work does) and never speaks HTTP.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Conflict, Forbidden, InvalidInput, NotFound
from lahstats.groups.service import display_name
from lahstats.sessions.access import session_for_member
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.models import ClaimType, RecordingSession, SessionSpeaker, SessionStatus
from lahstats.storage.repositories import (
    GroupRepository,
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
    WordCountRepository,
)
from lahstats.webhooks.outbox import record_status_event

GUEST_NAME_MAX_LENGTH = 100
CLAIMABLE = frozenset({SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED})
_NOT_CLAIMABLE_BECAUSE = {
    SessionStatus.RECORDING: (
        "the session is still recording",
        "End the session and wait until its speakers are ready.",
    ),
    SessionStatus.PROCESSING: (
        "the session is still being processed",
        "Wait until its status is ready_for_claiming; its progress shows how far it is.",
    ),
    SessionStatus.FAILED: (
        "the session failed to process, so it has no speakers to claim",
        "See the session's error_message; record again if the audio was bad.",
    ),
}


class ClaimService:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session
        self._groups = GroupRepository(session)
        self._profiles = ProfileRepository(session)
        self._sessions = SessionRepository(session)
        self._speakers = SpeakerRepository(session)
        self._word_counts = WordCountRepository(session)

    async def claim(
        self,
        *,
        session_id: uuid.UUID,
        speaker_id: uuid.UUID,
        caller_id: uuid.UUID,
        claim_type: ClaimType | str,
        user_id: uuid.UUID | None = None,
        guest_name: str | None = None,
    ) -> SessionSpeaker:
        """Claims one speaker of the session for the caller, another member or a guest
        (``claim_type`` "self", "user" or "guest")."""
        claim_type = ClaimType(claim_type)
        guest_name = _checked_fields(claim_type, user_id, guest_name)
        recording = await self._claimable_session(session_id, caller_id)
        speaker = await self._locked_speaker(recording, speaker_id)
        if speaker.claim_type is not None:
            raise Conflict(
                f"speaker {speaker.speaker_label} is already claimed by "
                f"{await self._claimer(speaker, caller_id)}; unclaim it first",
                hint="Whoever claimed it, or the session's starter, can unclaim it.",
            )
        attributed = await self._attributed_user(recording, claim_type, caller_id, user_id)
        await self._apply(
            recording,
            speaker,
            claim_type=claim_type,
            claimed_by=caller_id,
            attributed=attributed,
            guest_name=guest_name,
        )
        return speaker

    async def auto_claim(
        self, recording: RecordingSession, speaker_id: uuid.UUID, user_id: uuid.UUID
    ) -> bool:
        """Claims an unclaimed speaker for a member whose voice it matched (nobody tapped it).

        ``claimed_by`` stays empty; the member, or the session's starter, can unclaim it.
        """
        speaker = await self._locked_speaker(recording, speaker_id)
        if speaker.claim_type is not None or recording.status not in CLAIMABLE:
            return False
        if not await self._groups.is_member(recording.group_id, user_id):
            return False
        await self._apply(
            recording,
            speaker,
            claim_type=ClaimType.USER,
            claimed_by=None,
            attributed=user_id,
            guest_name=None,
        )
        return True

    async def _apply(
        self,
        recording: RecordingSession,
        speaker: SessionSpeaker,
        *,
        claim_type: ClaimType,
        claimed_by: uuid.UUID | None,
        attributed: uuid.UUID | None,
        guest_name: str | None,
    ) -> None:
        claimed = await self._speakers.claim(
            speaker.id,
            claimed_by=claimed_by,
            claim_type=claim_type,
            attributed_to_user_id=attributed,
            guest_name=guest_name,
        )
        if not claimed:  # only if the lock could not serialise us (it always can on our backends)
            raise Conflict(f"speaker {speaker.speaker_label} was claimed by someone else just now")
        if attributed is not None:
            await self._word_counts.attribute(
                speaker_id=speaker.id,
                session_id=recording.id,
                group_id=recording.group_id,
                user_id=attributed,
                counts=await self._speakers.counts_for_speaker(speaker.id),
                detected_at=recording.started_at,
            )
            await VoiceprintService(self._db).refresh([attributed])
        if await self._speakers.count_unclaimed(recording.id) == 0 and (
            await self._sessions.transition(
                recording.id,
                from_statuses=[SessionStatus.READY_FOR_CLAIMING],
                to_status=SessionStatus.COMPLETED,
            )
        ):
            await record_status_event(self._db, recording.id)  # webhooks

    async def unclaim(
        self, *, session_id: uuid.UUID, speaker_id: uuid.UUID, caller_id: uuid.UUID
    ) -> None:
        """Clears a claim and its word-count rows; a completed session is open for claims again."""
        recording = await self._claimable_session(session_id, caller_id)
        speaker = await self._locked_speaker(recording, speaker_id)
        if speaker.claim_type is None:
            raise Conflict(
                f"speaker {speaker.speaker_label} is not claimed",
                hint="There is nothing to unclaim; claim it instead.",
            )
        if caller_id not in (
            speaker.claimed_by,
            speaker.attributed_to_user_id,
            recording.started_by,
        ):
            raise Forbidden(
                f"only whoever claimed speaker {speaker.speaker_label}, whose voice it was said to "
                "be, or the session's starter can unclaim it",
                hint="Ask them to unclaim it.",
            )
        if not await self.release(speaker):
            raise Conflict(
                f"speaker {speaker.speaker_label} was unclaimed by someone else just now"
            )

    async def release(self, speaker: SessionSpeaker) -> bool:
        """Unclaims without asking who may (``unclaim`` asks; deleting an account does not):
        the claim's word-count rows go, the voiceprint is rebuilt, a completed session reopens.

        The caller holds the session's speaker lock; False when the speaker was not claimed.
        """
        attributed = speaker.attributed_to_user_id
        if not await self._speakers.unclaim(speaker.id):
            return False
        await self._word_counts.remove_for_speaker(speaker.id)
        await VoiceprintService(self._db).refresh([attributed])
        await self._sessions.transition(
            speaker.session_id,
            from_statuses=[SessionStatus.COMPLETED],
            to_status=SessionStatus.READY_FOR_CLAIMING,
        )
        return True

    async def _claimable_session(
        self, session_id: uuid.UUID, caller_id: uuid.UUID
    ) -> RecordingSession:
        recording = await session_for_member(self._db, session_id, caller_id)
        if recording.status not in CLAIMABLE:
            why, hint = _NOT_CLAIMABLE_BECAUSE[recording.status]
            raise Conflict(f"speakers cannot be claimed yet: {why}", hint=hint)
        return recording

    async def _locked_speaker(
        self, recording: RecordingSession, speaker_id: uuid.UUID
    ) -> SessionSpeaker:
        for speaker in await self._speakers.lock_for_session(recording.id):
            if speaker.id == speaker_id:
                return speaker
        raise NotFound(
            f"speaker {speaker_id} is not a speaker of session {recording.id}",
            hint="List the session's speakers and use one of their ids.",
        )

    async def _attributed_user(
        self,
        recording: RecordingSession,
        claim_type: ClaimType,
        caller_id: uuid.UUID,
        user_id: uuid.UUID | None,
    ) -> uuid.UUID | None:
        if claim_type is ClaimType.SELF:
            return caller_id
        if claim_type is ClaimType.GUEST:
            return None
        assert user_id is not None  # _checked_fields made sure
        if not await self._groups.is_member(recording.group_id, user_id):
            raise InvalidInput(
                f"user {user_id} is not a member of this group",
                hint="Claim for a member of the group, or claim the speaker as a guest by name.",
            )
        return user_id

    async def _claimer(self, speaker: SessionSpeaker, caller_id: uuid.UUID) -> str:
        if speaker.claim_type is ClaimType.GUEST:
            return f"guest {speaker.guest_name!r}"
        if speaker.attributed_to_user_id == caller_id:
            return "you"
        if speaker.attributed_to_user_id is None:
            return "a former member"
        profile = await self._profiles.get(speaker.attributed_to_user_id)
        return "a former member" if profile is None else display_name(profile)


def _checked_fields(
    claim_type: ClaimType, user_id: uuid.UUID | None, guest_name: str | None
) -> str | None:
    """The trimmed guest name; refuses fields that do not fit the claim type."""
    if claim_type is not ClaimType.USER and user_id is not None:
        raise InvalidInput(
            f"a {claim_type.value} claim takes no user_id",
            hint="Send user_id only with claim_type 'user'.",
        )
    if claim_type is not ClaimType.GUEST and guest_name is not None:
        raise InvalidInput(
            f"a {claim_type.value} claim takes no guest_name",
            hint="Send guest_name only with claim_type 'guest'.",
        )
    if claim_type is ClaimType.USER and user_id is None:
        raise InvalidInput(
            "a user claim needs user_id", hint="Send the id of the member whose voice it is."
        )
    if claim_type is ClaimType.GUEST:
        name = (guest_name or "").strip()
        if not 1 <= len(name) <= GUEST_NAME_MAX_LENGTH:
            raise InvalidInput(
                f"a guest claim needs a guest_name of 1 to {GUEST_NAME_MAX_LENGTH} characters",
                hint='Send the guest\'s name, e.g. "Uncle Lim".',
            )
        return name
    return None
