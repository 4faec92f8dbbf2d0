"""Transcript segments: who said what when, as heard and as corrected."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlmodel import col

from lahstats.storage.models import TranscriptSegment
from lahstats.storage.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class NewSegment:
    speaker_label: str | None
    start_seconds: float
    end_seconds: float
    raw_text: str
    corrected_text: str


class TranscriptRepository(Repository):
    async def replace_for_session(
        self,
        session_id: uuid.UUID,
        segments: Sequence[NewSegment],
        speaker_ids: Mapping[str, uuid.UUID],
    ) -> int:
        """Replaces the session's transcript; ``speaker_ids`` maps labels to saved speakers."""
        await self.session.execute(
            delete(TranscriptSegment).where(col(TranscriptSegment.session_id) == session_id)
        )
        self.session.add_all(
            TranscriptSegment(
                session_id=session_id,
                speaker_id=speaker_ids.get(segment.speaker_label)
                if segment.speaker_label
                else None,
                start_seconds=segment.start_seconds,
                end_seconds=segment.end_seconds,
                raw_text=segment.raw_text,
                corrected_text=segment.corrected_text,
            )
            for segment in segments
        )
        await self.session.flush()
        return len(segments)

    async def list_for_session(self, session_id: uuid.UUID) -> Sequence[TranscriptSegment]:
        result = await self.session.execute(
            select(TranscriptSegment)
            .where(col(TranscriptSegment.session_id) == session_id)
            .order_by(col(TranscriptSegment.start_seconds), col(TranscriptSegment.id))
        )
        return result.scalars().all()
