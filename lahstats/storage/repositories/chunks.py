"""Uploaded audio chunks of a session (the blobs themselves live in blob storage)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlmodel import col

from lahstats.storage.models import AudioChunk
from lahstats.storage.repositories.base import Repository


class ChunkRepository(Repository):
    async def add(
        self,
        *,
        session_id: uuid.UUID,
        chunk_number: int,
        storage_key: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        duration_seconds: float | None = None,
    ) -> AudioChunk:
        """Inserts a chunk; a second one with the same number raises ``IntegrityError``."""
        chunk = AudioChunk(
            session_id=session_id,
            chunk_number=chunk_number,
            storage_key=storage_key,
            content_type=content_type,
            size_bytes=size_bytes,
            sha256=sha256,
            duration_seconds=duration_seconds,
        )
        self.session.add(chunk)
        await self.session.flush()
        return chunk

    async def get(self, session_id: uuid.UUID, chunk_number: int) -> AudioChunk | None:
        result = await self.session.execute(
            select(AudioChunk).where(
                col(AudioChunk.session_id) == session_id,
                col(AudioChunk.chunk_number) == chunk_number,
            )
        )
        return result.scalar_one_or_none()

    async def list_for_session(self, session_id: uuid.UUID) -> Sequence[AudioChunk]:
        """Chunks in chunk-number order: the order the pipeline joins them."""
        result = await self.session.execute(
            select(AudioChunk)
            .where(col(AudioChunk.session_id) == session_id)
            .order_by(col(AudioChunk.chunk_number))
        )
        return result.scalars().all()

    async def total_seconds(self, session_id: uuid.UUID) -> float:
        """The decoded length of the session's stored chunks together."""
        result = await self.session.execute(
            select(func.sum(col(AudioChunk.duration_seconds))).where(
                col(AudioChunk.session_id) == session_id
            )
        )
        return float(result.scalar_one() or 0.0)  # NULL: no chunk yet
