"""Job lease: the token of the runner that processes a session.

A job takes the lease with a conditional UPDATE and writes progress only while it holds it, so two
runners of one session (a duplicate job, a crash pick-up) never both save results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("lease_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("lease_token")
