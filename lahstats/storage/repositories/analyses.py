"""What each chunk's job left (``chunk_analyses``) and the words across chunk edges
(``chunk_edges``): written as a session is recorded, read when it ends and for live counts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, select
from sqlmodel import col

from lahstats.storage.models import (
    AudioChunk,
    ChunkAnalysis,
    ChunkEdge,
    RecordingSession,
    SessionStatus,
)
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow

# ``chunk_edges`` numbers the session's start (left) and end (right) -1.
OPEN = -1


class ChunkAnalysisRepository(Repository):
    async def put(self, analysis: ChunkAnalysis) -> None:
        """Stores a chunk's analysis, replacing any earlier one of the same chunk. The row
        given is copied, so the caller's stays usable after the transaction."""
        await self.session.execute(
            delete(ChunkAnalysis).where(
                col(ChunkAnalysis.session_id) == analysis.session_id,
                col(ChunkAnalysis.chunk_number) == analysis.chunk_number,
            )
        )
        self.session.add(ChunkAnalysis.model_validate(analysis.model_dump() | {"id": uuid.uuid4()}))
        await self.session.flush()

    async def get(self, session_id: uuid.UUID, chunk_number: int) -> ChunkAnalysis | None:
        found = await self.session.execute(
            select(ChunkAnalysis).where(
                col(ChunkAnalysis.session_id) == session_id,
                col(ChunkAnalysis.chunk_number) == chunk_number,
            )
        )
        return found.scalar_one_or_none()

    async def list_for_session(
        self, session_id: uuid.UUID, numbers: Collection[int] | None = None
    ) -> Sequence[ChunkAnalysis]:
        """The session's looks (of these chunk numbers only, when given), results and all."""
        query = select(ChunkAnalysis).where(col(ChunkAnalysis.session_id) == session_id)
        if numbers is not None:
            query = query.where(col(ChunkAnalysis.chunk_number).in_(list(numbers)))
        found = await self.session.execute(query.order_by(col(ChunkAnalysis.chunk_number)))
        return found.scalars().all()

    async def digests_for_session(self, session_id: uuid.UUID) -> list[LookDigest]:
        """Which looks the session has, without their results (a 3-hour session's are 50 MB):
        what following it live polls."""
        found = await self.session.execute(
            select(
                col(ChunkAnalysis.chunk_number),
                col(ChunkAnalysis.digest),
                col(ChunkAnalysis.result).is_not(None),
            )
            .where(col(ChunkAnalysis.session_id) == session_id)
            .order_by(col(ChunkAnalysis.chunk_number))
        )
        return [LookDigest(number, digest, bool(usable)) for number, digest, usable in found]

    async def put_edge(
        self,
        session_id: uuid.UUID,
        left: int | None,
        right: int | None,
        *,
        made_from: str,
        words: str,
    ) -> None:
        """Stores the words across one edge, replacing an earlier join of it."""
        left_number, right_number = _number(left), _number(right)
        await self.session.execute(
            delete(ChunkEdge).where(
                col(ChunkEdge.session_id) == session_id,
                col(ChunkEdge.left_number) == left_number,
                col(ChunkEdge.right_number) == right_number,
            )
        )
        self.session.add(
            ChunkEdge(
                session_id=session_id,
                left_number=left_number,
                right_number=right_number,
                made_from=made_from,
                words=words,
                created_at=utcnow(),
            )
        )
        await self.session.flush()

    async def edges_for_session(self, session_id: uuid.UUID) -> Sequence[ChunkEdge]:
        found = await self.session.execute(
            select(ChunkEdge).where(col(ChunkEdge.session_id) == session_id)
        )
        return found.scalars().all()

    async def not_looked_at(self, *, uploaded_before: datetime) -> Sequence[AudioChunk]:
        """Chunks of sessions still recording, uploaded before then, with no look stored: their
        job was lost (a killed worker, a queue that was down) or failed."""
        found = await self.session.execute(
            select(AudioChunk)
            .join(RecordingSession, col(RecordingSession.id) == col(AudioChunk.session_id))
            .outerjoin(
                ChunkAnalysis,
                and_(
                    col(ChunkAnalysis.session_id) == col(AudioChunk.session_id),
                    col(ChunkAnalysis.chunk_number) == col(AudioChunk.chunk_number),
                ),
            )
            .where(
                col(RecordingSession.status) == SessionStatus.RECORDING,
                col(AudioChunk.created_at) < uploaded_before,
                col(ChunkAnalysis.id).is_(None),
            )
            .order_by(col(AudioChunk.created_at))
        )
        return found.scalars().all()

    async def delete_for_session(self, session_id: uuid.UUID) -> None:
        """Drops the session's looks and edges (they hold audio at the chunks' edges)."""
        for table in (ChunkAnalysis, ChunkEdge):
            await self.session.execute(delete(table).where(col(table.session_id) == session_id))


@dataclass(frozen=True, slots=True)
class LookDigest:
    """A stored look, without its result: ``usable`` unless its chunk could not be used."""

    chunk_number: int
    digest: str
    usable: bool

    @classmethod
    def of(cls, look: ChunkAnalysis) -> LookDigest:
        return cls(look.chunk_number, look.digest, look.result is not None)


def edge_source(
    left: ChunkAnalysis | LookDigest | None, right: ChunkAnalysis | LookDigest | None
) -> str:
    """What an edge is joined from: the digests of the two looks ("-" for none, or for a chunk
    that could not be used). A stored edge whose source differs was joined from other looks."""
    sides = [
        side if not isinstance(side, ChunkAnalysis) else LookDigest.of(side)
        for side in (left, right)
    ]
    return ":".join(side.digest if side is not None and side.usable else "-" for side in sides)


def _number(chunk: int | None) -> int:
    return OPEN if chunk is None else chunk


def chunk_or_open(number: int) -> int | None:
    """A stored edge number back as a chunk number, ``None`` for the session's start or end."""
    return None if number == OPEN else number
