"""Replacing the pipeline's per-speaker counts of a session while its speakers stay.

The job replaces speakers and counts together (``SpeakerRepository.replace_for_session``); a
recount keeps the speaker rows, their ids and claims, and rewrites only the counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import delete
from sqlmodel import col

from lahstats.storage.models import SpeakerWordCount
from lahstats.storage.repositories.base import Repository


class SpeakerCountRepository(Repository):
    async def replace_for_session(
        self, session_id: uuid.UUID, counts: Mapping[uuid.UUID, Mapping[str, int]]
    ) -> int:
        """Sets ``{speaker_id: {word: count}}`` as the session's counts (non-zero ones kept)."""
        await self.session.execute(
            delete(SpeakerWordCount).where(col(SpeakerWordCount.session_id) == session_id)
        )
        rows = [
            SpeakerWordCount(speaker_id=speaker_id, session_id=session_id, word=word, count=n)
            for speaker_id, words in counts.items()
            for word, n in sorted(words.items())
            if n > 0
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return len(rows)
