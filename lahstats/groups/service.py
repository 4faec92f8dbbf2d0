"""Groups of friends: create one, join one by its invite code, see your own.

A user sees only groups they belong to: a group they are not in answers exactly like one that does
not exist (``NotFound``), so ids and invite codes of other groups leak nothing.
"""

from __future__ import annotations

import secrets
import uuid

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Forbidden, InvalidInput, NotFound
from lahstats.groups.schemas import GroupDetailOut, GroupOut, GroupsOut, MemberOut, group_out
from lahstats.storage.models import Group, MemberRole, Profile
from lahstats.storage.repositories import GroupRepository

# No 0/O or 1/I/L: codes are read aloud and typed on phones.
_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8
NAME_MAX_LENGTH = 100
_CODE_ATTEMPTS = 5


def display_name(profile: Profile) -> str:
    """What friends see: the chosen name, else the email's local part (never the whole email),
    else a short id."""
    if profile.display_name:
        return profile.display_name
    local = (profile.email or "").partition("@")[0]
    return local or f"member {str(profile.id)[:8]}"


def new_invite_code() -> str:
    return "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def normalise_invite_code(code: str) -> str:
    """Codes are case-insensitive and may be shared with spaces or dashes: ``abcd-efgh``."""
    return "".join(code.split()).replace("-", "").upper()


class GroupService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.groups = GroupRepository(session)

    async def create(self, *, name: str, owner_id: uuid.UUID) -> GroupOut:
        clean = " ".join(name.split())
        if not 1 <= len(clean) <= NAME_MAX_LENGTH:
            raise InvalidInput(
                f"a group name needs 1 to {NAME_MAX_LENGTH} characters, got {len(clean)}",
                hint='Send {"name": "Friday kopi gang"}.',
            )
        for _ in range(_CODE_ATTEMPTS):
            try:
                async with self.session.begin_nested():
                    group = await self.groups.create(
                        name=clean, invite_code=new_invite_code(), owner_id=owner_id
                    )
                return group_out(group)
            except IntegrityError:  # an invite code already taken: 31^8 makes this rare
                continue
        raise RuntimeError(f"no free invite code after {_CODE_ATTEMPTS} tries")

    async def join(self, *, invite_code: str, user_id: uuid.UUID) -> GroupOut:
        """Joins the group with this code; joining a group twice is harmless."""
        group = await self.groups.get_by_invite_code(normalise_invite_code(invite_code))
        if group is None:
            raise NotFound(
                "no group has this invite code",
                hint="Check the code with the friend who shared it (8 letters and digits).",
            )
        await self.groups.add_member(group.id, user_id)
        return group_out(group)

    async def list(self, user_id: uuid.UUID) -> GroupsOut:
        return GroupsOut(
            groups=[group_out(group) for group in await self.groups.list_for_user(user_id)]
        )

    async def get(self, group_id: uuid.UUID, user_id: uuid.UUID) -> GroupDetailOut:
        """The group with its members, for a member."""
        group = await self.visible(group_id, user_id)
        members = await self.groups.members(group_id)
        return GroupDetailOut(
            **msgspec.structs.asdict(group_out(group)),
            members=[
                MemberOut(
                    user_id=profile.id,
                    display_name=display_name(profile),
                    role=member.role,
                    joined_at=member.joined_at,
                )
                for member, profile in members
            ],
        )

    async def update(
        self, group_id: uuid.UUID, user_id: uuid.UUID, *, auto_claim_voices: bool | None = None
    ) -> GroupOut:
        """Changes the group's settings; only its owner may."""
        group = await self.owned(
            group_id,
            user_id,
            doing="change its settings",
            hint="Ask the owner (see the group's members) to change it.",
        )
        if auto_claim_voices is not None:
            group.auto_claim_voices = auto_claim_voices
        self.session.add(group)
        await self.session.flush()
        return group_out(group)

    async def owned(
        self, group_id: uuid.UUID, user_id: uuid.UUID, *, doing: str, hint: str
    ) -> Group:
        """The group if the user owns it: ``NotFound`` for outsiders, ``Forbidden`` for members."""
        group = await self.visible(group_id, user_id)
        member = await self.groups.member(group_id, user_id)
        if member is None or member.role != MemberRole.OWNER:
            raise Forbidden(f"only the group's owner can {doing}", hint=hint)
        return group

    async def visible(self, group_id: uuid.UUID, user_id: uuid.UUID) -> Group:
        """The group if the user belongs to it; ``NotFound`` otherwise."""
        group = await self.groups.get_for_member(group_id, user_id)
        if group is None:
            raise NotFound(f"no group {group_id}")
        return group
