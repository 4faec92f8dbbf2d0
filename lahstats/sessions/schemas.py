"""What the API answers about sessions: the read schemas its services return (msgspec).

A service maps its table rows to these itself, so no controller touches a table model.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from lahstats.storage.models import ProcessingEvent, RecordingSession


class SessionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    group_id: uuid.UUID
    started_by: uuid.UUID | None
    status: str
    progress: int
    stage: str | None
    duration_seconds: float | None
    error_message: str | None
    started_at: datetime
    ended_at: datetime | None
    processed_at: datetime | None


class SessionsOut(msgspec.Struct, kw_only=True):
    sessions: list[SessionOut]
    limit: int
    offset: int
    next_offset: int | None


class ChunkOut(msgspec.Struct, kw_only=True):
    success: bool = True
    session_id: uuid.UUID
    chunk_number: int
    size_bytes: int
    content_type: str
    duration_seconds: float | None
    sha256: str
    created: bool  # false: these exact bytes were already stored (a retry), nothing new written


class EndOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    status: str


class StatusOut(msgspec.Struct, kw_only=True):
    status: str
    progress: int
    stage: str | None
    error_message: str | None


class TranscriptLineOut(msgspec.Struct, kw_only=True):
    speaker_id: uuid.UUID | None
    speaker_label: str | None
    start_seconds: float
    end_seconds: float
    text: str
    raw_text: str


class TranscriptOut(msgspec.Struct, kw_only=True):
    segments: list[TranscriptLineOut]


class ProgressOut(msgspec.Struct, kw_only=True):
    """One processing event, as ``/events`` streams it."""

    id: int
    stage: str
    progress: int
    message: str | None
    at: datetime


def session_out(recording: RecordingSession) -> SessionOut:
    return SessionOut(
        id=recording.id,
        group_id=recording.group_id,
        started_by=recording.started_by,
        status=recording.status,
        progress=recording.progress,
        stage=recording.stage,
        duration_seconds=recording.duration_seconds,
        error_message=recording.error_message,
        started_at=recording.started_at,
        ended_at=recording.ended_at,
        processed_at=recording.processed_at,
    )


def status_out(recording: RecordingSession) -> StatusOut:
    return StatusOut(
        status=recording.status,
        progress=recording.progress,
        stage=recording.stage,
        error_message=recording.error_message,
    )


def progress_out(event: ProcessingEvent) -> ProgressOut:
    assert event.id is not None  # a stored event
    return ProgressOut(
        id=event.id,
        stage=event.stage,
        progress=event.progress,
        message=event.message,
        at=event.created_at,
    )
