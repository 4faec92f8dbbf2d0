"""Claimed word counts: a claimed speaker's counts attributed to a user, what Wrapped adds up."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlmodel import col

from lahstats.storage.models import WordCount
from lahstats.storage.repositories.base import Repository


class WordCountRepository(Repository):
    async def attribute(
        self,
        *,
        speaker_id: uuid.UUID,
        session_id: uuid.UUID,
        group_id: uuid.UUID,
        user_id: uuid.UUID,
        counts: Mapping[str, int],
        detected_at: datetime,
    ) -> int:
        """Writes the speaker's non-zero counts for ``user_id``, replacing any earlier ones."""
        await self.remove_for_speaker(speaker_id)
        rows = [
            WordCount(
                speaker_id=speaker_id,
                session_id=session_id,
                group_id=group_id,
                user_id=user_id,
                word=word,
                count=n,
                detected_at=detected_at,
            )
            for word, n in sorted(counts.items())
            if n > 0
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return len(rows)

    async def remove_for_speaker(self, speaker_id: uuid.UUID) -> int:
        result = await self.session.execute(
            delete(WordCount).where(col(WordCount.speaker_id) == speaker_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def totals_for_user(
        self, user_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> dict[str, int]:
        """``{word: total}`` of a user's claimed counts detected in ``[since, until)``."""
        result = await self.session.execute(
            select(col(WordCount.word), func.sum(col(WordCount.count)))
            .where(
                col(WordCount.user_id) == user_id,
                col(WordCount.detected_at) >= since,
                col(WordCount.detected_at) < until,
            )
            .group_by(col(WordCount.word))
        )
        return {word: int(total) for word, total in result.all()}
