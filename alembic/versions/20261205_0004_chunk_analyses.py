"""Chunk analyses: what each chunk's job left as the session was recorded.

- chunk_analyses: a chunk's voice features, the words of its inner speech and its edges
- chunk_edges: the words heard across the edge between two chunks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 03:10:46.174354
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import lahstats.storage.types
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chunk_analyses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_number", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("models", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_chunk_analyses_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunk_analyses")),
        sa.UniqueConstraint(
            "session_id", "chunk_number", name=op.f("uq_chunk_analyses_session_id_chunk_number")
        ),
    )
    op.create_table(
        "chunk_edges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("left_number", sa.Integer(), nullable=False),
        sa.Column("right_number", sa.Integer(), nullable=False),
        sa.Column("made_from", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("created_at", lahstats.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_chunk_edges_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunk_edges")),
        sa.UniqueConstraint(
            "session_id",
            "left_number",
            "right_number",
            name=op.f("uq_chunk_edges_session_id_left_number_right_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("chunk_edges")
    op.drop_table("chunk_analyses")
