"""Recording sessions and their status machine.

    recording ──end──> processing ──> ready_for_claiming ──all claimed──> completed
                           │  ▲
                           ▼  │ (retry)
                         failed

Status changes are conditional updates (``UPDATE ... WHERE status IN (...)``), so two requests or
two workers racing on one session cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlmodel import col

from lahstats.storage.models import GroupMember, RecordingSession, SessionStatus
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow


class SessionRepository(Repository):
    async def create(self, *, group_id: uuid.UUID, started_by: uuid.UUID) -> RecordingSession:
        recording = RecordingSession(group_id=group_id, started_by=started_by)
        self.session.add(recording)
        await self.session.flush()
        return recording

    async def get(self, session_id: uuid.UUID) -> RecordingSession | None:
        return await self.session.get(RecordingSession, session_id)

    async def get_for_member(
        self, session_id: uuid.UUID, user_id: uuid.UUID
    ) -> RecordingSession | None:
        """The session if ``user_id`` belongs to its group; None when absent or not visible."""
        result = await self.session.execute(
            select(RecordingSession)
            .join(GroupMember, col(GroupMember.group_id) == col(RecordingSession.group_id))
            .where(col(RecordingSession.id) == session_id, col(GroupMember.user_id) == user_id)
        )
        return result.scalar_one_or_none()

    async def list_for_member(
        self, user_id: uuid.UUID, *, limit: int = 20, offset: int = 0
    ) -> Sequence[RecordingSession]:
        """Sessions of every group the user belongs to, newest first."""
        result = await self.session.execute(
            select(RecordingSession)
            .join(GroupMember, col(GroupMember.group_id) == col(RecordingSession.group_id))
            .where(col(GroupMember.user_id) == user_id)
            .order_by(col(RecordingSession.started_at).desc(), col(RecordingSession.id).desc())
            .limit(limit)
            .offset(offset)
        )
        return result.scalars().all()

    async def transition(
        self,
        session_id: uuid.UUID,
        *,
        from_statuses: Collection[SessionStatus],
        to_status: SessionStatus,
        **values: object,
    ) -> bool:
        """Moves the session to ``to_status`` only if it is in one of ``from_statuses``."""
        result = await self.session.execute(
            update(RecordingSession)
            .where(
                col(RecordingSession.id) == session_id,
                col(RecordingSession.status).in_(list(from_statuses)),
            )
            .values(status=to_status, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if changed:
            await self._refresh(session_id)
        return changed

    async def record_progress(self, session_id: uuid.UUID, *, stage: str, progress: int) -> bool:
        """A running job's progress, also its heartbeat; ignored unless processing."""
        now = utcnow()
        result = await self.session.execute(
            update(RecordingSession)
            .where(
                col(RecordingSession.id) == session_id,
                col(RecordingSession.status) == SessionStatus.PROCESSING,
            )
            .values(stage=stage, progress=progress, heartbeat_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if changed:
            await self._refresh(session_id)
        return changed

    async def list_stale_processing(self, *, heartbeat_before: datetime) -> Sequence[uuid.UUID]:
        """Sessions left in ``processing`` whose job stopped beating: a crash to pick up again."""
        result = await self.session.execute(
            select(col(RecordingSession.id)).where(
                col(RecordingSession.status) == SessionStatus.PROCESSING,
                (col(RecordingSession.heartbeat_at).is_(None))
                | (col(RecordingSession.heartbeat_at) < heartbeat_before),
            )
        )
        return result.scalars().all()

    async def delete(self, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(RecordingSession).where(col(RecordingSession.id) == session_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _refresh(self, session_id: uuid.UUID) -> None:
        loaded = self.session.identity_map.get(
            self.session.identity_key(RecordingSession, session_id)
        )
        if loaded is not None:
            await self.session.refresh(loaded)
