"""The words a group tracks on top of the built-in twenty."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlmodel import col

from lahstats.storage.models import GroupWord
from lahstats.storage.repositories.base import Repository


class GroupWordRepository(Repository):
    async def add(
        self,
        *,
        group_id: uuid.UUID,
        word: str,
        variants_json: str,
        pronunciation: str | None,
        created_by: uuid.UUID,
    ) -> GroupWord:
        """A new word of the group; a word the group already has fails the unique constraint."""
        row = GroupWord(
            group_id=group_id,
            word=word,
            variants=variants_json,
            pronunciation=pronunciation,
            created_by=created_by,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def list_for_group(self, group_id: uuid.UUID) -> Sequence[GroupWord]:
        """The group's words, oldest first: the order they join the lexicon in."""
        result = await self.session.execute(
            select(GroupWord)
            .where(col(GroupWord.group_id) == group_id)
            .order_by(col(GroupWord.created_at), col(GroupWord.word))
        )
        return result.scalars().all()

    async def get(self, group_id: uuid.UUID, word: str) -> GroupWord | None:
        result = await self.session.execute(
            select(GroupWord).where(
                col(GroupWord.group_id) == group_id, col(GroupWord.word) == word
            )
        )
        return result.scalar_one_or_none()

    async def count_for_group(self, group_id: uuid.UUID) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(GroupWord).where(col(GroupWord.group_id) == group_id)
        )
        return int(result.scalar_one())

    async def remove(self, group_id: uuid.UUID, word: str) -> bool:
        """Removes one word of the group; False when the group did not have it."""
        result = await self.session.execute(
            delete(GroupWord).where(
                col(GroupWord.group_id) == group_id, col(GroupWord.word) == word
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
