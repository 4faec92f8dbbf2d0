"""Which sessions' raw chunks have outlived the retention period, and marking them purged.

A session's processing ended at ``processed_at``; a failed session has none, so its last status
change (``updated_at``, which nothing moves once it has failed) counts instead. Sessions still
``recording`` or ``processing`` are never candidates: their chunks are still needed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import col

from lahstats.storage.models import AudioChunk, RecordingSession, SessionStatus
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow

PURGEABLE = (SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED, SessionStatus.FAILED)


@dataclass(frozen=True, slots=True)
class ExpiredChunks:
    """A session whose chunks may go, and what its chunk rows say is stored."""

    session_id: uuid.UUID
    chunks: int
    bytes: int


class RetentionRepository(Repository):
    async def expired(
        self, *, processed_before: datetime, after: uuid.UUID | None, limit: int
    ) -> Sequence[ExpiredChunks]:
        """Up to ``limit`` unpurged sessions processed before the cutoff, in id order after
        ``after`` (keyset pages: a session that cannot be marked is never fetched twice)."""
        ended = func.coalesce(col(RecordingSession.processed_at), col(RecordingSession.updated_at))
        query = (
            select(
                col(RecordingSession.id),
                func.count(col(AudioChunk.id)),
                func.coalesce(func.sum(col(AudioChunk.size_bytes)), 0),
            )
            .outerjoin(AudioChunk, col(AudioChunk.session_id) == col(RecordingSession.id))
            .where(
                col(RecordingSession.status).in_(PURGEABLE),
                col(RecordingSession.chunks_purged_at).is_(None),
                ended < processed_before,
            )
            .group_by(col(RecordingSession.id))
            .order_by(col(RecordingSession.id))
            .limit(limit)
        )
        if after is not None:
            query = query.where(col(RecordingSession.id) > after)
        result = await self.session.execute(query)
        return [ExpiredChunks(sid, int(n), int(size)) for sid, n, size in result.all()]

    async def mark_purged(self, session_ids: Sequence[uuid.UUID]) -> int:
        """Records that the sessions' chunk blobs are gone; skips any that started processing
        again meanwhile (its job will say a chunk is missing) or were marked already."""
        if not session_ids:
            return 0
        now = utcnow()
        result = await self.session.execute(
            update(RecordingSession)
            .where(
                col(RecordingSession.id).in_(list(session_ids)),
                col(RecordingSession.status).in_(PURGEABLE),
                col(RecordingSession.chunks_purged_at).is_(None),
            )
            .values(chunks_purged_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
