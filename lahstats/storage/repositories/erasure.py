"""Erasure: the queries that deleting a session or an account needs beyond what cascades do.

Foreign keys remove most rows (a session's chunks, speakers, counts, transcript, events and
recognition; a profile's memberships, voiceprints, enrolments and claimed counts). What they
cannot reach is here: rows that name a session without a foreign key, claims to undo before a
profile goes, groups to hand over or delete.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlmodel import col

from lahstats.storage.models import (
    Group,
    GroupMember,
    MemberRole,
    RecordingSession,
    SessionSpeaker,
    SessionStatus,
    WebhookDelivery,
)
from lahstats.storage.repositories.base import Repository


class ErasureRepository(Repository):
    async def delete_session_deliveries(self, session_id: uuid.UUID) -> int:
        """Webhook deliveries about the session: they carry no foreign key, so nothing else
        removes them, and a pending one would announce a session that no longer exists."""
        result = await self.session.execute(
            delete(WebhookDelivery).where(col(WebhookDelivery.session_id) == session_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def sessions_hearing(self, user_id: uuid.UUID) -> Sequence[uuid.UUID]:
        """Sessions with a speaker claimed as the user's voice, in id order."""
        result = await self.session.execute(
            select(col(SessionSpeaker.session_id))
            .where(col(SessionSpeaker.attributed_to_user_id) == user_id)
            .distinct()
            .order_by(col(SessionSpeaker.session_id))
        )
        return list(result.scalars().all())

    async def set_role(self, group_id: uuid.UUID, user_id: uuid.UUID, role: MemberRole) -> bool:
        result = await self.session.execute(
            update(GroupMember)
            .where(col(GroupMember.group_id) == group_id, col(GroupMember.user_id) == user_id)
            .values(role=role)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def group_sessions(
        self, group_id: uuid.UUID
    ) -> Sequence[tuple[uuid.UUID, SessionStatus]]:
        result = await self.session.execute(
            select(col(RecordingSession.id), col(RecordingSession.status)).where(
                col(RecordingSession.group_id) == group_id
            )
        )
        return [(session_id, SessionStatus(status)) for session_id, status in result.all()]

    async def delete_group(self, group_id: uuid.UUID) -> bool:
        """The group and, by cascade, its sessions, words and webhooks (blobs are the caller's)."""
        result = await self.session.execute(delete(Group).where(col(Group.id) == group_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
