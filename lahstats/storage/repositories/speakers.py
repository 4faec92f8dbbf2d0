"""Speakers found in a session, their per-word counts and their claims."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlmodel import col

from lahstats.storage.models import ClaimType, SessionSpeaker, SpeakerWordCount
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class NewSpeaker:
    """One speaker of a processed session, as the job saves it."""

    label: str
    segment_count: int
    total_duration_seconds: float
    word_counts: Mapping[str, int] = field(default_factory=dict)
    sample_storage_key: str | None = None
    voice_embedding: bytes | None = None
    embedding_model: str | None = None


class SpeakerRepository(Repository):
    async def replace_for_session(
        self, session_id: uuid.UUID, speakers: Sequence[NewSpeaker]
    ) -> dict[str, uuid.UUID]:
        """Replaces the session's speakers and their counts: saving twice leaves the same rows.

        Returns the new speaker id for each label. Claimed counts and transcript rows that
        pointed at old speakers go with them (cascade).
        """
        await self.session.execute(
            delete(SessionSpeaker).where(col(SessionSpeaker.session_id) == session_id)
        )
        ids: dict[str, uuid.UUID] = {}
        for new in speakers:
            speaker = SessionSpeaker(
                session_id=session_id,
                speaker_label=new.label,
                segment_count=new.segment_count,
                total_duration_seconds=new.total_duration_seconds,
                sample_storage_key=new.sample_storage_key,
                voice_embedding=new.voice_embedding,
                embedding_model=new.embedding_model,
            )
            self.session.add(speaker)
            ids[new.label] = speaker.id
            self.session.add_all(
                SpeakerWordCount(speaker_id=speaker.id, session_id=session_id, word=word, count=n)
                for word, n in sorted(new.word_counts.items())
            )
        await self.session.flush()
        return ids

    async def list_for_session(self, session_id: uuid.UUID) -> Sequence[SessionSpeaker]:
        result = await self.session.execute(
            select(SessionSpeaker)
            .where(col(SessionSpeaker.session_id) == session_id)
            .order_by(col(SessionSpeaker.speaker_label))
        )
        return result.scalars().all()

    async def get(self, session_id: uuid.UUID, speaker_id: uuid.UUID) -> SessionSpeaker | None:
        result = await self.session.execute(
            select(SessionSpeaker).where(
                col(SessionSpeaker.id) == speaker_id, col(SessionSpeaker.session_id) == session_id
            )
        )
        return result.scalar_one_or_none()

    async def word_counts(self, session_id: uuid.UUID) -> dict[uuid.UUID, dict[str, int]]:
        """``{speaker_id: {word: count}}`` for every speaker of the session."""
        result = await self.session.execute(
            select(SpeakerWordCount).where(col(SpeakerWordCount.session_id) == session_id)
        )
        counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for row in result.scalars():
            counts[row.speaker_id][row.word] = row.count
        return dict(counts)

    async def claim(
        self,
        speaker_id: uuid.UUID,
        *,
        claimed_by: uuid.UUID | None,
        claim_type: ClaimType,
        attributed_to_user_id: uuid.UUID | None = None,
        guest_name: str | None = None,
    ) -> bool:
        """Claims an unclaimed speaker; False when someone claimed it first."""
        result = await self.session.execute(
            update(SessionSpeaker)
            .where(col(SessionSpeaker.id) == speaker_id, col(SessionSpeaker.claim_type).is_(None))
            .values(
                claimed_by=claimed_by,
                claimed_at=utcnow(),
                claim_type=claim_type,
                attributed_to_user_id=attributed_to_user_id,
                guest_name=guest_name,
            )
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def unclaim(self, speaker_id: uuid.UUID) -> bool:
        """Clears a claim; False when the speaker was not claimed."""
        result = await self.session.execute(
            update(SessionSpeaker)
            .where(
                col(SessionSpeaker.id) == speaker_id, col(SessionSpeaker.claim_type).is_not(None)
            )
            .values(
                claimed_by=None,
                claimed_at=None,
                claim_type=None,
                attributed_to_user_id=None,
                guest_name=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count_unclaimed(self, session_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(col(SessionSpeaker.id)).where(
                col(SessionSpeaker.session_id) == session_id,
                col(SessionSpeaker.claim_type).is_(None),
            )
        )
        return len(result.all())

    async def lock_for_session(self, session_id: uuid.UUID) -> Sequence[SessionSpeaker]:
        """The session's speakers, re-read and locked until the transaction ends.

        Claims and unclaims of one session take this lock first, so they run one after another:
        the last claim sees every other one and completes the session (on PostgreSQL two racing
        claims would otherwise each see the other's speaker unclaimed). SQLite ignores
        ``FOR UPDATE``; it lets one writer in at a time anyway.
        """
        result = await self.session.execute(
            select(SessionSpeaker)
            .where(col(SessionSpeaker.session_id) == session_id)
            .order_by(col(SessionSpeaker.id))  # one lock order for everyone: no deadlocks
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalars().all()

    async def counts_for_speaker(self, speaker_id: uuid.UUID) -> dict[str, int]:
        """``{word: count}`` the pipeline found for one speaker."""
        result = await self.session.execute(
            select(col(SpeakerWordCount.word), col(SpeakerWordCount.count)).where(
                col(SpeakerWordCount.speaker_id) == speaker_id
            )
        )
        return {word: int(count) for word, count in result.all()}
