"""Reads what an export holds: a processed session's speakers (by name), counts and transcript.

The one place an export touches the database; ``export.py`` turns the result into files. Only
processed sessions export: before processing there is nothing to show, and a half-written
transcript would look like a finished one.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Conflict, NotFound
from lahstats.groups.service import display_name
from lahstats.sessions.access import session_for_member
from lahstats.sessions.export import ExportSegment, ExportSession, ExportSpeaker, SessionExport
from lahstats.storage.models import ClaimType, RecordingSession, SessionSpeaker, SessionStatus
from lahstats.storage.repositories import (
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)

EXPORTABLE = frozenset({SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED})
_NOT_EXPORTABLE_BECAUSE = {
    SessionStatus.RECORDING: (
        "the session is still recording",
        "End the session and export it once its status is ready_for_claiming.",
    ),
    SessionStatus.PROCESSING: (
        "the session is still being processed",
        "Wait until its status is ready_for_claiming; its progress shows how far it is.",
    ),
    SessionStatus.FAILED: (
        "the session failed to process, so it has no transcript",
        "See the session's error_message; end it again to process it once more.",
    ),
}


class ExportService:
    """What the API exports: a session as one of its group's members sees it."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def export(self, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionExport:
        return await load_export(self.db, session_id, user_id=user_id)


async def load_export(
    db: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID | None
) -> SessionExport:
    """The session's export as its group's members see it.

    ``user_id`` None reads any session: for operators at the command line, never for the API.
    Raises ``NotFound`` (absent, or not the user's) and ``Conflict`` (not processed yet).
    """
    recording = await _session(db, session_id, user_id)
    if recording.status not in EXPORTABLE:
        why, hint = _NOT_EXPORTABLE_BECAUSE[recording.status]
        raise Conflict(f"session {session_id} cannot be exported yet: {why}", hint=hint)
    repository = SpeakerRepository(db)
    counts = await repository.word_counts(session_id)
    speakers = [
        ExportSpeaker(
            id=speaker.id,
            label=speaker.speaker_label,
            name=await _name(db, speaker),
            claim_type=ClaimType(speaker.claim_type).value if speaker.claim_type else None,
            user_id=speaker.attributed_to_user_id,
            total_duration_seconds=speaker.total_duration_seconds,
            word_counts=dict(sorted(counts.get(speaker.id, {}).items())),
        )
        for speaker in await repository.list_for_session(session_id)
    ]
    names = {speaker.id: speaker.name for speaker in speakers}
    segments = [
        ExportSegment(
            start=segment.start_seconds,
            end=segment.end_seconds,
            speaker_id=segment.speaker_id,
            speaker=names.get(segment.speaker_id) if segment.speaker_id else None,
            text=segment.corrected_text,
            heard=segment.raw_text,
        )
        for segment in await TranscriptRepository(db).list_for_session(session_id)
    ]
    return SessionExport(
        session=ExportSession(
            id=recording.id,
            group_id=recording.group_id,
            started_at=recording.started_at,
            duration_seconds=recording.duration_seconds,
            status=SessionStatus(recording.status).value,
        ),
        speakers=speakers,
        segments=segments,
    )


async def _session(
    db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID | None
) -> RecordingSession:
    if user_id is not None:
        return await session_for_member(db, session_id, user_id)
    recording = await SessionRepository(db).get(session_id)
    if recording is None:
        raise NotFound(
            f"no session {session_id}", hint="Check the id (`GET /sessions` lists them)."
        )
    return recording


async def _name(db: AsyncSession, speaker: SessionSpeaker) -> str:
    """The claimed member's display name, else the guest's name, else the label."""
    if speaker.attributed_to_user_id is not None:
        profile = await ProfileRepository(db).get(speaker.attributed_to_user_id)
        if profile is not None:
            return display_name(profile)
    return speaker.guest_name or speaker.speaker_label
