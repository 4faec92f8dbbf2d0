"""Initial schema: profiles, groups, sessions, chunks, speakers, counts, transcripts, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 20:37:39.985523
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import lahstats.storage.types
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
        sa.UniqueConstraint("email", name=op.f("uq_profiles_email")),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("invite_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_groups_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["profiles.id"],
            name=op.f("fk_groups_created_by_profiles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("invite_code", name=op.f("uq_groups_invite_code")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                "member",
                name="member_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("joined_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["profiles.id"],
            name=op.f("fk_group_members_user_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "recording",
                "processing",
                "ready_for_claiming",
                "completed",
                "failed",
                name="session_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("processed_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds >= 0", name=op.f("ck_sessions_duration")
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_sessions_progress_range")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_sessions_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["profiles.id"],
            name=op.f("fk_sessions_started_by_profiles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(
        op.f("ix_sessions_group_id_started_at"),
        "sessions",
        ["group_id", "started_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_sessions_started_by_started_at"),
        "sessions",
        ["started_by", "started_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_sessions_status_heartbeat_at"),
        "sessions",
        ["status", "heartbeat_at"],
        unique=False,
    )
    op.create_table(
        "audio_chunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_number", sa.Integer(), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("chunk_number >= 0", name=op.f("ck_audio_chunks_chunk_number")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_audio_chunks_sha256_length")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_audio_chunks_size_bytes")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_audio_chunks_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audio_chunks")),
        sa.UniqueConstraint(
            "session_id", "chunk_number", name=op.f("uq_audio_chunks_session_id_chunk_number")
        ),
    )
    op.create_table(
        "processing_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_processing_events_progress_range")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_processing_events_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_events")),
    )
    op.create_index(
        op.f("ix_processing_events_session_id_id"),
        "processing_events",
        ["session_id", "id"],
        unique=False,
    )
    op.create_table(
        "session_speakers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("speaker_label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("total_duration_seconds", sa.Float(), nullable=False),
        sa.Column(
            "sample_storage_key", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True
        ),
        sa.Column("voice_embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "claim_type",
            sa.Enum(
                "self",
                "user",
                "guest",
                name="claim_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("attributed_to_user_id", sa.Uuid(), nullable=True),
        sa.Column("guest_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "claim_type IS NULL OR claim_type != 'guest' OR guest_name IS NOT NULL",
            name=op.f("ck_session_speakers_guest_has_name"),
        ),
        sa.CheckConstraint(
            "claim_type IS NULL OR claimed_at IS NOT NULL",
            name=op.f("ck_session_speakers_claimed_at_when_claimed"),
        ),
        sa.ForeignKeyConstraint(
            ["attributed_to_user_id"],
            ["profiles.id"],
            name=op.f("fk_session_speakers_attributed_to_user_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["profiles.id"],
            name=op.f("fk_session_speakers_claimed_by_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_speakers_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_speakers")),
        sa.UniqueConstraint(
            "session_id", "speaker_label", name=op.f("uq_session_speakers_session_id_speaker_label")
        ),
    )
    op.create_index(
        op.f("ix_session_speakers_attributed_to_user_id"),
        "session_speakers",
        ["attributed_to_user_id"],
        unique=False,
    )
    op.create_table(
        "speaker_word_counts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("speaker_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("word", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_speaker_word_counts_count")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_speaker_word_counts_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["session_speakers.id"],
            name=op.f("fk_speaker_word_counts_speaker_id_session_speakers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_word_counts")),
        sa.UniqueConstraint(
            "speaker_id", "word", name=op.f("uq_speaker_word_counts_speaker_id_word")
        ),
    )
    op.create_index(
        op.f("ix_speaker_word_counts_session_id"),
        "speaker_word_counts",
        ["session_id"],
        unique=False,
    )
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("speaker_id", sa.Uuid(), nullable=True),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("end_seconds", sa.Float(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("corrected_text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "start_seconds >= 0 AND end_seconds >= start_seconds",
            name=op.f("ck_transcript_segments_times"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_transcript_segments_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["session_speakers.id"],
            name=op.f("fk_transcript_segments_speaker_id_session_speakers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_segments")),
    )
    op.create_index(
        op.f("ix_transcript_segments_session_id_start_seconds"),
        "transcript_segments",
        ["session_id", "start_seconds"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transcript_segments_speaker_id"),
        "transcript_segments",
        ["speaker_id"],
        unique=False,
    )
    op.create_table(
        "word_counts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("speaker_id", sa.Uuid(), nullable=False),
        sa.Column("word", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("detected_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_word_counts_count")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_word_counts_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_word_counts_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["session_speakers.id"],
            name=op.f("fk_word_counts_speaker_id_session_speakers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["profiles.id"],
            name=op.f("fk_word_counts_user_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_counts")),
        sa.UniqueConstraint("speaker_id", "word", name=op.f("uq_word_counts_speaker_id_word")),
    )
    op.create_index(
        op.f("ix_word_counts_group_id_detected_at"),
        "word_counts",
        ["group_id", "detected_at"],
        unique=False,
    )
    op.create_index(op.f("ix_word_counts_session_id"), "word_counts", ["session_id"], unique=False)
    op.create_index(
        op.f("ix_word_counts_user_id_detected_at"),
        "word_counts",
        ["user_id", "detected_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_word_counts_user_id_detected_at"), table_name="word_counts")
    op.drop_index(op.f("ix_word_counts_session_id"), table_name="word_counts")
    op.drop_index(op.f("ix_word_counts_group_id_detected_at"), table_name="word_counts")
    op.drop_table("word_counts")
    op.drop_index(op.f("ix_transcript_segments_speaker_id"), table_name="transcript_segments")
    op.drop_index(
        op.f("ix_transcript_segments_session_id_start_seconds"), table_name="transcript_segments"
    )
    op.drop_table("transcript_segments")
    op.drop_index(op.f("ix_speaker_word_counts_session_id"), table_name="speaker_word_counts")
    op.drop_table("speaker_word_counts")
    op.drop_index(op.f("ix_session_speakers_attributed_to_user_id"), table_name="session_speakers")
    op.drop_table("session_speakers")
    op.drop_index(op.f("ix_processing_events_session_id_id"), table_name="processing_events")
    op.drop_table("processing_events")
    op.drop_table("audio_chunks")
    op.drop_index(op.f("ix_sessions_status_heartbeat_at"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_started_by_started_at"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_group_id_started_at"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_group_members_user_id"), table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("profiles")
