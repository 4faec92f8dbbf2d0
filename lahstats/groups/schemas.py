"""What the API answers about groups: the read schemas ``GroupService`` returns."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from lahstats.storage.models import Group


class GroupOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    invite_code: str
    created_at: datetime
    # Confident voice matches are claimed without a tap (off unless the owner turns it on).
    auto_claim_voices: bool = False


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    display_name: str
    role: str
    joined_at: datetime


class GroupDetailOut(GroupOut, kw_only=True):
    members: list[MemberOut]


class GroupsOut(msgspec.Struct, kw_only=True):
    groups: list[GroupOut]


def group_out(group: Group) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        invite_code=group.invite_code,
        created_at=group.created_at,
        auto_claim_voices=group.auto_claim_voices,
    )
