"""Voice embeddings as stored: speakers' (the analysis cache), enrolments' and voiceprints."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlmodel import col

from lahstats.storage.models import (
    GroupMember,
    SessionSpeaker,
    VoiceEnrolment,
    Voiceprint,
)
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow


@dataclass(frozen=True, slots=True)
class StoredEmbedding:
    """One embedding behind a voiceprint: a claimed speaker's or an enrolment's."""

    user_id: uuid.UUID
    model: str
    vector: bytes
    source: str  # "speaker" or "enrolment"
    source_id: uuid.UUID
    session_id: uuid.UUID | None = None


class VoiceRepository(Repository):
    async def attributed_embeddings(
        self, user_ids: Iterable[uuid.UUID] | None = None
    ) -> list[StoredEmbedding]:
        """Embeddings of speakers attributed to the users (all users: ``None``), then enrolments."""
        speakers = select(SessionSpeaker).where(
            col(SessionSpeaker.attributed_to_user_id).is_not(None),
            col(SessionSpeaker.voice_embedding).is_not(None),
            col(SessionSpeaker.embedding_model).is_not(None),
        )
        enrolments = select(VoiceEnrolment)
        if user_ids is not None:
            wanted = list(user_ids)
            speakers = speakers.where(col(SessionSpeaker.attributed_to_user_id).in_(wanted))
            enrolments = enrolments.where(col(VoiceEnrolment.user_id).in_(wanted))
        found = [
            StoredEmbedding(
                user_id=speaker.attributed_to_user_id,
                model=speaker.embedding_model,
                vector=speaker.voice_embedding,
                source="speaker",
                source_id=speaker.id,
                session_id=speaker.session_id,
            )
            for speaker in (await self.session.scalars(speakers)).all()
            if speaker.attributed_to_user_id and speaker.embedding_model and speaker.voice_embedding
        ]
        found += [
            StoredEmbedding(
                user_id=enrolment.user_id,
                model=enrolment.embedding_model,
                vector=enrolment.vector,
                source="enrolment",
                source_id=enrolment.id,
            )
            for enrolment in (
                await self.session.scalars(enrolments.order_by(col(VoiceEnrolment.created_at)))
            ).all()
        ]
        return found

    async def voiceprints(self, user_ids: Iterable[uuid.UUID]) -> Sequence[Voiceprint]:
        query = select(Voiceprint).where(col(Voiceprint.user_id).in_(list(user_ids)))
        return (await self.session.scalars(query)).all()

    async def all_voiceprints(self) -> Sequence[Voiceprint]:
        return (await self.session.scalars(select(Voiceprint))).all()

    async def replace_voiceprints(
        self, user_id: uuid.UUID, prints: Iterable[tuple[str, bytes, int]]
    ) -> None:
        """The user's voiceprints become exactly ``(model, vector, source_count)`` of ``prints``."""
        await self.session.execute(delete(Voiceprint).where(col(Voiceprint.user_id) == user_id))
        for model, vector, count in prints:
            self.session.add(
                Voiceprint(
                    user_id=user_id,
                    embedding_model=model,
                    vector=vector,
                    source_count=count,
                    updated_at=utcnow(),
                )
            )
        await self.session.flush()

    async def add_enrolment(
        self, user_id: uuid.UUID, *, model: str, vector: bytes, duration_seconds: float
    ) -> VoiceEnrolment:
        enrolment = VoiceEnrolment(
            user_id=user_id, embedding_model=model, vector=vector, duration_seconds=duration_seconds
        )
        self.session.add(enrolment)
        await self.session.flush()
        return enrolment

    async def enrolments(self, user_id: uuid.UUID) -> Sequence[VoiceEnrolment]:
        query = select(VoiceEnrolment).where(col(VoiceEnrolment.user_id) == user_id)
        return (await self.session.scalars(query.order_by(col(VoiceEnrolment.created_at)))).all()

    async def delete_enrolments(self, user_id: uuid.UUID) -> int:
        result = await self.session.execute(
            delete(VoiceEnrolment).where(col(VoiceEnrolment.user_id) == user_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def group_member_ids(self, group_id: uuid.UUID) -> list[uuid.UUID]:
        query = select(col(GroupMember.user_id)).where(col(GroupMember.group_id) == group_id)
        return list((await self.session.scalars(query)).all())
