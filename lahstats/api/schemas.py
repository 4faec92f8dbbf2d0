"""Response and request schemas of the API (msgspec). Table models never appear here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec


class PartHealthOut(msgspec.Struct, kw_only=True):
    ok: bool
    backend: str
    detail: str
    fix: str | None = None
    device: str | None = None
    roles: dict[str, dict[str, Any]] | None = None


class HealthOut(msgspec.Struct, kw_only=True):
    status: str
    version: str
    environment: str
    failing: list[str]
    checks: dict[str, PartHealthOut]


# The largest offset or event id a query may name: what JSON clients hold exactly (2^53 - 1), far
# below PostgreSQL's bigint, past which the database refused the query with a 500.
QUERY_INT_MAX = 2**53 - 1


# ---- users and groups -------------------------------------------------------------------------


class MeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    display_name: str | None


class GroupCreate(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GroupJoin(msgspec.Struct, kw_only=True):
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class GroupOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    invite_code: str
    created_at: datetime
    # Confident voice matches are claimed without a tap (off unless the owner turns it on).
    auto_claim_voices: bool = False


class GroupUpdate(msgspec.Struct, kw_only=True):
    auto_claim_voices: bool | None = None


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    display_name: str
    role: str
    joined_at: datetime


class GroupDetailOut(GroupOut, kw_only=True):
    members: list[MemberOut]


class GroupsOut(msgspec.Struct, kw_only=True):
    groups: list[GroupOut]


# ---- sessions ---------------------------------------------------------------------------------


class SessionStart(msgspec.Struct, kw_only=True):
    group_id: uuid.UUID


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


# ---- speakers, claims and transcripts ---------------------------------------------------------


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


class ClaimIn(msgspec.Struct, kw_only=True):
    speaker_id: uuid.UUID
    claim_type: Literal["self", "user", "guest"]
    user_id: uuid.UUID | None = None
    guest_name: str | None = None


class SuccessOut(msgspec.Struct, kw_only=True):
    success: bool = True


class TranscriptLineOut(msgspec.Struct, kw_only=True):
    speaker_id: uuid.UUID | None
    speaker_label: str | None
    start_seconds: float
    end_seconds: float
    text: str
    raw_text: str


class TranscriptOut(msgspec.Struct, kw_only=True):
    segments: list[TranscriptLineOut]


# ---- Wrapped and leaderboards -----------------------------------------------------------------


class WordCountOut(msgspec.Struct, kw_only=True):
    word: str
    count: int


class GroupWrappedOut(msgspec.Struct, kw_only=True):
    name: str
    total_words: int
    favorite_word: str | None


class WrappedOut(msgspec.Struct, kw_only=True):
    year: int
    total_words: int
    top_words: list[WordCountOut]
    favorite_word: str | None
    sessions: int
    minutes_recorded: float
    by_month: dict[str, int]
    by_group: dict[str, GroupWrappedOut]


class LeaderboardEntryOut(msgspec.Struct, kw_only=True):
    rank: int
    user_id: uuid.UUID
    display_name: str
    count: int
    favorite_word: str | None


class LeaderboardOut(msgspec.Struct, kw_only=True):
    group_id: uuid.UUID
    year: int
    word: str | None
    entries: list[LeaderboardEntryOut]


# ---- errors -----------------------------------------------------------------------------------


class ErrorOut(msgspec.Struct, kw_only=True):
    """Every error's body (``api/errors.py``): show ``message``, act on ``hint``."""

    status_code: int
    error: str
    message: str
    hint: str
    request_id: str | None
    details: Any = None  # only with some 400s; `Any | None` documents an ambiguous oneOf
