"""Processing events: the progress log of a session's job, read back as a live stream."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from lahstats.storage.models import ProcessingEvent
from lahstats.storage.repositories.base import Repository


class EventRepository(Repository):
    async def append(
        self, session_id: uuid.UUID, *, stage: str, progress: int, message: str | None = None
    ) -> ProcessingEvent:
        event = ProcessingEvent(
            session_id=session_id, stage=stage, progress=progress, message=message
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def list_after(
        self, session_id: uuid.UUID, *, after_id: int = 0, limit: int = 500
    ) -> Sequence[ProcessingEvent]:
        """Events newer than ``after_id``, oldest first: what a stream has not sent yet."""
        result = await self.session.execute(
            select(ProcessingEvent)
            .where(
                col(ProcessingEvent.session_id) == session_id, col(ProcessingEvent.id) > after_id
            )
            .order_by(col(ProcessingEvent.id))
            .limit(limit)
        )
        return result.scalars().all()
