"""The database schema as SQLModel tables: the single source ``alembic`` migrates from.

Table models never leave ``storage/``: repositories hand them to services, and the API turns
them into its own schemas. Ids are UUIDs (a profile's id is the auth provider's ``sub``). Every
table that belongs to a session cascades when the session is deleted.

    profiles ─┬─< group_members >── groups ──< sessions ─┬─< audio_chunks
              │                                          ├─< session_speakers ─< speaker_word_counts
              │                                          ├─< transcript_segments
              │                                          ├─< processing_events
              ├──────────────< word_counts >─────────────┤   (claimed counts, per user)
              ├─< voiceprints                            └── session_recognitions
              ├─< voice_enrolments      groups ─┬─< group_words
                                                └─< webhooks ─< webhook_deliveries
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lahstats.storage.types import UTCDateTime, utcnow

# Deterministic constraint names, so migrations can name what they alter (and SQLite batch works).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WORD_MAX_LENGTH = 64
LABEL_MAX_LENGTH = 64


class SessionStatus(StrEnum):
    RECORDING = "recording"
    PROCESSING = "processing"
    READY_FOR_CLAIMING = "ready_for_claiming"
    COMPLETED = "completed"
    FAILED = "failed"


class ClaimType(StrEnum):
    SELF = "self"
    USER = "user"
    GUEST = "guest"


class MemberRole(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


def _enum(enum: type[StrEnum], name: str) -> sa.Enum:
    # Stored as VARCHAR + CHECK rather than a native PG enum: portable, and adding a value is a
    # plain migration instead of ALTER TYPE.
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _created_at() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)  # type: ignore[no-any-return]


class Profile(SQLModel, table=True):
    __tablename__ = "profiles"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str | None = Field(default=None, max_length=320, unique=True)
    display_name: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()


class Group(SQLModel, table=True):
    __tablename__ = "groups"
    __table_args__ = (sa.CheckConstraint("length(name) > 0", name="name_not_empty"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    invite_code: str = Field(max_length=16, unique=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    # Confident voice matches become claims without a tap (``speakers.suggestions``).
    auto_claim_voices: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = _created_at()


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_members"

    group_id: uuid.UUID = Field(foreign_key="groups.id", ondelete="CASCADE", primary_key=True)
    user_id: uuid.UUID = Field(
        foreign_key="profiles.id", ondelete="CASCADE", primary_key=True, index=True
    )
    role: MemberRole = Field(default=MemberRole.MEMBER, sa_type=_enum(MemberRole, "member_role"))
    joined_at: datetime = _created_at()


class RecordingSession(SQLModel, table=True):
    """A hangout being recorded; ``sessions`` in the API (not to be confused with a DB session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0", name="duration"),
        sa.Index(None, "group_id", "started_at"),
        sa.Index(None, "started_by", "started_at"),
        sa.Index(None, "status", "heartbeat_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    group_id: uuid.UUID = Field(foreign_key="groups.id", ondelete="CASCADE")
    started_by: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    status: SessionStatus = Field(
        default=SessionStatus.RECORDING, sa_type=_enum(SessionStatus, "session_status")
    )
    progress: int = Field(default=0)
    stage: str | None = Field(default=None, max_length=64)
    duration_seconds: float | None = None
    error_message: str | None = Field(default=None, sa_type=sa.Text)
    started_at: datetime = _created_at()
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Written by the job while it runs; a `processing` session whose heartbeat is old was orphaned.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The runner processing the session holds this token; see SessionRepository.acquire_lease.
    lease_token: str | None = Field(default=None, max_length=64)
    # When retention removed the raw chunk blobs (their rows stay, as a record of the upload).
    chunks_purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _created_at()


class AudioChunk(SQLModel, table=True):
    __tablename__ = "audio_chunks"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "chunk_number"),
        sa.CheckConstraint("chunk_number >= 0", name="chunk_number"),
        sa.CheckConstraint("size_bytes > 0", name="size_bytes"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    chunk_number: int
    storage_key: str = Field(max_length=512)
    content_type: str = Field(max_length=128)
    size_bytes: int
    sha256: str = Field(max_length=64)
    duration_seconds: float | None = None
    created_at: datetime = _created_at()


class ChunkAnalysis(SQLModel, table=True):
    """What looking at one uploaded chunk left (``pipeline.incremental.ChunkResult``), stored by
    its job as the chunk arrives so that ending the session decodes and recognises it no more.

    ``sha256`` is the chunk's and ``models`` the models' that made it: a result of other bytes or
    other models is made again. A chunk that could not be used keeps ``error`` and no result.
    """

    __tablename__ = "chunk_analyses"
    __table_args__ = (sa.UniqueConstraint("session_id", "chunk_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    chunk_number: int
    sha256: str = Field(max_length=64)
    models: str = Field(max_length=256)
    digest: str = Field(max_length=64)  # of ``result``: which look an edge was joined from
    result: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    error: str | None = Field(default=None, sa_type=sa.Text)
    seconds: float = 0.0  # how long the look took
    created_at: datetime = _created_at()


class ChunkEdge(SQLModel, table=True):
    """The words heard across the edge between two chunks (``pipeline.incremental.EdgeWords``);
    -1 stands for the session's start (left) or end (right). ``made_from`` names the digests of
    the two looks it was joined from: an edge of looks since replaced is joined again."""

    __tablename__ = "chunk_edges"
    __table_args__ = (sa.UniqueConstraint("session_id", "left_number", "right_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    left_number: int
    right_number: int
    made_from: str = Field(max_length=160)
    words: str = Field(sa_type=sa.Text)
    created_at: datetime = _created_at()


class SessionSpeaker(SQLModel, table=True):
    __tablename__ = "session_speakers"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "speaker_label"),
        sa.CheckConstraint(
            "claim_type IS NULL OR claimed_at IS NOT NULL", name="claimed_at_when_claimed"
        ),
        sa.CheckConstraint(
            "claim_type IS NULL OR claim_type != 'guest' OR guest_name IS NOT NULL",
            name="guest_has_name",
        ),
        sa.Index(None, "attributed_to_user_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    speaker_label: str = Field(max_length=LABEL_MAX_LENGTH)
    segment_count: int = Field(default=0)
    total_duration_seconds: float = Field(default=0.0)
    sample_storage_key: str | None = Field(default=None, max_length=512)
    voice_embedding: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    # Which model made the embedding: voices are only compared within one embedding space.
    embedding_model: str | None = Field(default=None, max_length=128)
    claimed_by: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_type: ClaimType | None = Field(default=None, sa_type=_enum(ClaimType, "claim_type"))
    attributed_to_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    guest_name: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created_at()


class SpeakerWordCount(SQLModel, table=True):
    __tablename__ = "speaker_word_counts"
    __table_args__ = (
        sa.UniqueConstraint("speaker_id", "word"),
        sa.CheckConstraint("count >= 0", name="count"),
        sa.Index(None, "session_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    speaker_id: uuid.UUID = Field(foreign_key="session_speakers.id", ondelete="CASCADE")
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    word: str = Field(max_length=WORD_MAX_LENGTH)
    count: int


class WordCount(SQLModel, table=True):
    """A claimed speaker's count of one word, attributed to a user: what Wrapped adds up."""

    __tablename__ = "word_counts"
    __table_args__ = (
        sa.UniqueConstraint("speaker_id", "word"),
        sa.CheckConstraint("count >= 0", name="count"),
        sa.Index(None, "user_id", "detected_at"),
        sa.Index(None, "group_id", "detected_at"),
        sa.Index(None, "session_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="profiles.id", ondelete="CASCADE")
    group_id: uuid.UUID = Field(foreign_key="groups.id", ondelete="CASCADE")
    # The claimed speaker the count came from: unclaiming removes exactly these rows.
    speaker_id: uuid.UUID = Field(foreign_key="session_speakers.id", ondelete="CASCADE")
    word: str = Field(max_length=WORD_MAX_LENGTH)
    count: int
    detected_at: datetime = _created_at()


class TranscriptSegment(SQLModel, table=True):
    __tablename__ = "transcript_segments"
    __table_args__ = (
        sa.CheckConstraint("start_seconds >= 0 AND end_seconds >= start_seconds", name="times"),
        sa.Index(None, "session_id", "start_seconds"),
        sa.Index(None, "speaker_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    speaker_id: uuid.UUID | None = Field(
        default=None, foreign_key="session_speakers.id", ondelete="CASCADE"
    )
    start_seconds: float
    end_seconds: float
    raw_text: str = Field(sa_type=sa.Text)
    corrected_text: str = Field(sa_type=sa.Text)


class ProcessingEvent(SQLModel, table=True):
    __tablename__ = "processing_events"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.Index(None, "session_id", "id"),
    )

    # An increasing integer, so an event stream can resume after the last id it sent.
    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
    )
    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE")
    stage: str = Field(max_length=64)
    progress: int
    message: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created_at()


class SessionRecognition(SQLModel, table=True):
    """What the recogniser heard, before correction, and the diarized turns, as JSON.

    Enough to correct and count again with another lexicon (a group's new custom word) without
    running a model: ``words.recount``.
    """

    __tablename__ = "session_recognitions"

    session_id: uuid.UUID = Field(foreign_key="sessions.id", ondelete="CASCADE", primary_key=True)
    # [{"text", "start", "end", "speaker", "probability"}], in time order
    heard: str = Field(sa_type=sa.Text)
    # [{"speaker", "start", "end"}]
    turns: str = Field(sa_type=sa.Text)
    created_at: datetime = _created_at()


class Voiceprint(SQLModel, table=True):
    """A user's voice: a robust average of the embeddings attributed to them, per model."""

    __tablename__ = "voiceprints"

    user_id: uuid.UUID = Field(foreign_key="profiles.id", ondelete="CASCADE", primary_key=True)
    embedding_model: str = Field(max_length=128, primary_key=True)
    vector: bytes = Field(sa_type=sa.LargeBinary)
    # How many embeddings (claimed speakers and enrolments) it was made from.
    source_count: int = Field(default=0)
    updated_at: datetime = _created_at()


class VoiceEnrolment(SQLModel, table=True):
    """A voice recorded on purpose (``POST /users/me/voice``), before or besides any session."""

    __tablename__ = "voice_enrolments"
    __table_args__ = (sa.Index(None, "user_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="profiles.id", ondelete="CASCADE")
    embedding_model: str = Field(max_length=128)
    vector: bytes = Field(sa_type=sa.LargeBinary)
    duration_seconds: float
    created_at: datetime = _created_at()


class GroupWord(SQLModel, table=True):
    """A word a group tracks on top of the built-in twenty."""

    __tablename__ = "group_words"
    __table_args__ = (sa.UniqueConstraint("group_id", "word"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    group_id: uuid.UUID = Field(foreign_key="groups.id", ondelete="CASCADE")
    word: str = Field(max_length=WORD_MAX_LENGTH)
    # JSON list of other spellings / mishearings that mean the word outright
    variants: str = Field(default="[]", sa_type=sa.Text)
    # ARPAbet, space-separated ("B OW JH IY OW"); None: matched by spelling only
    pronunciation: str | None = Field(default=None, max_length=200)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    created_at: datetime = _created_at()


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (sa.Index(None, "group_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    group_id: uuid.UUID = Field(foreign_key="groups.id", ondelete="CASCADE")
    url: str = Field(max_length=2048)
    # The HMAC key; shown once, when the webhook is created.
    secret: str = Field(max_length=128)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="profiles.id", ondelete="SET NULL"
    )
    created_at: datetime = _created_at()


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: written with the status change, sent (and retried) later."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index(None, "webhook_id", "created_at"),
        sa.Index(None, "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhooks.id", ondelete="CASCADE")
    # No foreign key: the record of a delivery outlives the session it was about.
    session_id: uuid.UUID | None = Field(default=None)
    event: str = Field(max_length=64)
    payload: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=_enum(DeliveryStatus, "delivery_status")
    )
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created_at()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


metadata = SQLModel.metadata
