"""Groups of friends and their memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from lahstats.storage.models import Group, GroupMember, MemberRole, Profile
from lahstats.storage.repositories.base import Repository


class GroupRepository(Repository):
    async def create(self, *, name: str, invite_code: str, owner_id: uuid.UUID) -> Group:
        """A new group with its creator as owner."""
        group = Group(name=name, invite_code=invite_code, created_by=owner_id)
        self.session.add(group)
        await self.session.flush()
        self.session.add(GroupMember(group_id=group.id, user_id=owner_id, role=MemberRole.OWNER))
        await self.session.flush()
        return group

    async def get(self, group_id: uuid.UUID) -> Group | None:
        return await self.session.get(Group, group_id)

    async def get_by_invite_code(self, invite_code: str) -> Group | None:
        result = await self.session.execute(
            select(Group).where(col(Group.invite_code) == invite_code)
        )
        return result.scalar_one_or_none()

    async def get_for_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> Group | None:
        """The group if ``user_id`` belongs to it; None both when absent and when not a member."""
        result = await self.session.execute(
            select(Group)
            .join(GroupMember, col(GroupMember.group_id) == col(Group.id))
            .where(col(Group.id) == group_id, col(GroupMember.user_id) == user_id)
        )
        return result.scalar_one_or_none()

    async def list_for_user(self, user_id: uuid.UUID) -> Sequence[Group]:
        result = await self.session.execute(
            select(Group)
            .join(GroupMember, col(GroupMember.group_id) == col(Group.id))
            .where(col(GroupMember.user_id) == user_id)
            .order_by(col(Group.created_at), col(Group.id))
        )
        return result.scalars().all()

    async def add_member(
        self, group_id: uuid.UUID, user_id: uuid.UUID, role: MemberRole = MemberRole.MEMBER
    ) -> GroupMember:
        """Adds a member; joining twice keeps the first membership."""
        existing = await self.member(group_id, user_id)
        if existing is not None:
            return existing
        member = GroupMember(group_id=group_id, user_id=user_id, role=role)
        self.session.add(member)
        await self.session.flush()
        return member

    async def is_member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return await self.member(group_id, user_id) is not None

    async def member(self, group_id: uuid.UUID, user_id: uuid.UUID) -> GroupMember | None:
        return await self.session.get(GroupMember, (group_id, user_id))

    async def members(self, group_id: uuid.UUID) -> Sequence[tuple[GroupMember, Profile]]:
        result = await self.session.execute(
            select(GroupMember, Profile)
            .join(Profile, col(Profile.id) == col(GroupMember.user_id))
            .where(col(GroupMember.group_id) == group_id)
            .order_by(col(GroupMember.joined_at), col(Profile.id))
        )
        return [(member, profile) for member, profile in result.all()]
