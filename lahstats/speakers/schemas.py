"""What the API answers about speakers and voices: the read schemas their services return."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from lahstats.storage.models import VoiceEnrolment


class SpeakerOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    speaker_label: str
    sample_audio_url: str | None
    total_duration_seconds: float
    segment_count: int
    word_counts: dict[str, int]
    claimed_by: uuid.UUID | None
    claim_type: str | None
    attributed_to_user_id: uuid.UUID | None
    guest_name: str | None
    # An unclaimed speaker whose voice matches a member's voiceprint: who, and how sure (0.5-1).
    suggested_user_id: uuid.UUID | None = None
    suggestion_confidence: float | None = None


class SpeakersOut(msgspec.Struct, kw_only=True):
    speakers: list[SpeakerOut]


class EnrolmentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    duration_seconds: float
    created_at: datetime


class VoiceprintOut(msgspec.Struct, kw_only=True):
    embedding_model: str
    source_count: int
    updated_at: datetime


class VoiceOut(msgspec.Struct, kw_only=True):
    enrolments: list[EnrolmentOut]
    voiceprints: list[VoiceprintOut]


class EnrolledOut(msgspec.Struct, kw_only=True):
    enrolment: EnrolmentOut
    speech_seconds: float


def enrolment_out(enrolment: VoiceEnrolment) -> EnrolmentOut:
    return EnrolmentOut(
        id=enrolment.id,
        duration_seconds=enrolment.duration_seconds,
        created_at=enrolment.created_at,
    )
