"""What the recogniser heard in each processed session: the input of a recount."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import delete, select
from sqlmodel import col

from lahstats.storage.models import RecordingSession, SessionRecognition, SessionStatus
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow


class RecognitionRepository(Repository):
    async def replace(self, session_id: uuid.UUID, *, heard: str, turns: str) -> None:
        """Stores the session's recognition (JSON text), replacing an earlier run's."""
        await self.session.execute(
            delete(SessionRecognition).where(col(SessionRecognition.session_id) == session_id)
        )
        self.session.add(
            SessionRecognition(session_id=session_id, heard=heard, turns=turns, created_at=utcnow())
        )
        await self.session.flush()

    async def get(self, session_id: uuid.UUID) -> SessionRecognition | None:
        return await self.session.get(SessionRecognition, session_id)

    async def sessions_of_group(
        self, group_id: uuid.UUID, statuses: Collection[SessionStatus]
    ) -> Sequence[tuple[RecordingSession, SessionRecognition | None]]:
        """The group's sessions in ``statuses``, oldest first, each with its recognition if any."""
        result = await self.session.execute(
            select(RecordingSession, SessionRecognition)
            .outerjoin(
                SessionRecognition,
                col(SessionRecognition.session_id) == col(RecordingSession.id),
            )
            .where(
                col(RecordingSession.group_id) == group_id,
                col(RecordingSession.status).in_(list(statuses)),
            )
            .order_by(col(RecordingSession.started_at), col(RecordingSession.id))
        )
        return [(recording, recognition) for recording, recognition in result.all()]
