"""Recording sessions and their status machine.

    recording ──end──> processing ──> ready_for_claiming ──all claimed──> completed
                           │  ▲
                           ▼  │ (retry)
                         failed

Status changes are conditional updates (``UPDATE ... WHERE status IN (...)``), so two requests or
two workers racing on one session cannot both win.

A processing job holds a lease (``lease_token``) renewed by its heartbeat; it writes progress and
results only while the token is still its own. A lease whose heartbeat is older than the caller's
``stale_before`` may be taken over: its runner died.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
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
        self,
        user_id: uuid.UUID,
        *,
        group_id: uuid.UUID | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Sequence[RecordingSession]:
        """Sessions of every group the user belongs to (or of one of them), newest first."""
        query = (
            select(RecordingSession)
            .join(GroupMember, col(GroupMember.group_id) == col(RecordingSession.group_id))
            .where(col(GroupMember.user_id) == user_id)
        )
        if group_id is not None:
            query = query.where(col(RecordingSession.group_id) == group_id)
        result = await self.session.execute(
            query.order_by(col(RecordingSession.started_at).desc(), col(RecordingSession.id).desc())
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

    async def record_progress(
        self, session_id: uuid.UUID, *, stage: str, progress: int, token: str | None = None
    ) -> bool:
        """A running job's progress, also its heartbeat; ignored unless processing.

        With ``token``, only the holder of that lease may write (see ``acquire_lease``).
        """
        now = utcnow()
        return await self._update(
            session_id,
            self._processing(token),
            stage=stage,
            progress=progress,
            heartbeat_at=now,
            updated_at=now,
        )

    async def acquire_lease(
        self, session_id: uuid.UUID, token: str, *, stale_before: datetime
    ) -> bool:
        """Takes the processing lease: free, never beaten, or beaten last before ``stale_before``.

        False when the session is not processing or a live runner (a recent heartbeat) holds it.
        """
        now = utcnow()
        heartbeat = col(RecordingSession.heartbeat_at)
        return await self._update(
            session_id,
            self._processing(None)
            & (
                col(RecordingSession.lease_token).is_(None)
                | heartbeat.is_(None)
                | (heartbeat < stale_before)
            ),
            lease_token=token,
            heartbeat_at=now,
            updated_at=now,
        )

    async def beat(self, session_id: uuid.UUID, token: str) -> bool:
        """Renews the lease; False when it is no longer ours (taken over, or the session moved)."""
        now = utcnow()
        return await self._update(
            session_id, self._processing(token), heartbeat_at=now, updated_at=now
        )

    async def release_lease(self, session_id: uuid.UUID, token: str) -> bool:
        """Gives the lease up (the session stays processing): the next try may take it at once."""
        return await self._update(
            session_id,
            col(RecordingSession.lease_token) == token,
            lease_token=None,
            updated_at=utcnow(),
        )

    async def finish(
        self, session_id: uuid.UUID, token: str, *, duration_seconds: float, speaker_count: int
    ) -> bool:
        """Marks a processed session done, if the lease is still ``token``'s.

        ``ready_for_claiming`` when speakers were found, else ``completed`` (nobody to claim).
        """
        now = utcnow()
        status = SessionStatus.READY_FOR_CLAIMING if speaker_count else SessionStatus.COMPLETED
        return await self._update(
            session_id,
            self._processing(token),
            status=status,
            progress=100,
            stage="done",
            duration_seconds=max(0.0, duration_seconds),
            processed_at=now,
            error_message=None,
            lease_token=None,
            heartbeat_at=now,
            updated_at=now,
        )

    async def fail(self, session_id: uuid.UUID, message: str, token: str | None = None) -> bool:
        """Marks a processing session failed with ``message``; with ``token``, only its holder may.

        Progress stays where it stopped, so the client sees how far processing got.
        """
        return await self._update(
            session_id,
            self._processing(token),
            status=SessionStatus.FAILED,
            stage="failed",
            error_message=message,
            lease_token=None,
            updated_at=utcnow(),
        )

    async def list_stale_processing(self, *, heartbeat_before: datetime) -> Sequence[uuid.UUID]:
        """Sessions left in ``processing`` whose job stopped beating: a crash to pick up again."""
        return list(await self.list_stale_processing_since(heartbeat_before=heartbeat_before))

    async def list_stale_processing_since(
        self, *, heartbeat_before: datetime
    ) -> dict[uuid.UUID, datetime]:
        """Like ``list_stale_processing``, with each session's last sign of life.

        That is the last heartbeat, or the end of recording for a session queued but never
        started (a job lost before it began).
        """
        last_seen = func.coalesce(
            col(RecordingSession.heartbeat_at), col(RecordingSession.ended_at)
        )
        result = await self.session.execute(
            select(col(RecordingSession.id), last_seen)
            .where(
                col(RecordingSession.status) == SessionStatus.PROCESSING,
                last_seen < heartbeat_before,
            )
            .order_by(last_seen)
        )
        return dict(result.all())

    async def delete(self, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(RecordingSession).where(col(RecordingSession.id) == session_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _processing(token: str | None) -> ColumnElement[bool]:
        processing = col(RecordingSession.status) == SessionStatus.PROCESSING
        if token is None:
            return processing
        return processing & (col(RecordingSession.lease_token) == token)

    async def _update(
        self, session_id: uuid.UUID, condition: ColumnElement[bool], **values: object
    ) -> bool:
        result = await self.session.execute(
            update(RecordingSession)
            .where(col(RecordingSession.id) == session_id, condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if changed:
            await self._refresh(session_id)
        return changed

    async def _refresh(self, session_id: uuid.UUID) -> None:
        loaded = self.session.identity_map.get(
            self.session.identity_key(RecordingSession, session_id)
        )
        if loaded is not None:
            await self.session.refresh(loaded)
