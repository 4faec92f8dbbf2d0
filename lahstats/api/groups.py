"""``/groups``: create, join, list and read groups; ``/users/me``: read or delete yourself."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from lahstats.accounts.schemas import MeOut
from lahstats.api.deps import Accounts, Caller, Groups, ProcessRuntime
from lahstats.api.errors import error_responses
from lahstats.api.schemas import GroupCreate, GroupJoin, GroupUpdate
from lahstats.groups.schemas import GroupDetailOut, GroupOut, GroupsOut


class GroupController(Controller):
    path = "/groups"
    tags = ["groups"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary="Create a group; you become its owner",
        responses=error_responses(413, 415, 422),
    )
    async def create(self, data: JSONBody[GroupCreate], caller: Caller, groups: Groups) -> GroupOut:
        return await groups.create(name=data.name, owner_id=caller.user_id)

    @post(
        "/join",
        summary="Join a group with its invite code",
        status_code=200,
        responses=error_responses(404, 413, 415),
    )
    async def join(self, data: JSONBody[GroupJoin], caller: Caller, groups: Groups) -> GroupOut:
        return await groups.join(invite_code=data.invite_code, user_id=caller.user_id)

    @get(summary="The groups you belong to", responses=error_responses())
    async def list_groups(self, caller: Caller, groups: Groups) -> GroupsOut:
        return await groups.list(caller.user_id)

    @get(
        "/{group_id:uuid}",
        summary="A group you belong to, with its members",
        responses=error_responses(404),
    )
    async def get_group(
        self, group_id: FromPath[uuid.UUID], caller: Caller, groups: Groups
    ) -> GroupDetailOut:
        return await groups.get(group_id, caller.user_id)

    @patch(
        "/{group_id:uuid}",
        summary="Change a group's settings (owner only)",
        responses=error_responses(403, 404, 413, 415),
    )
    async def update_group(
        self,
        group_id: FromPath[uuid.UUID],
        data: JSONBody[GroupUpdate],
        caller: Caller,
        groups: Groups,
    ) -> GroupOut:
        return await groups.update(
            group_id, caller.user_id, auto_claim_voices=data.auto_claim_voices
        )


class MeController(Controller):
    path = "/users/me"
    tags = ["users"]  # noqa: RUF012

    @get(summary="Your profile (created on your first request)", responses=error_responses())
    async def me(self, caller: Caller, accounts: Accounts) -> MeOut:
        return await accounts.profile(caller.user_id)

    @delete(
        summary="Delete your account: profile, voice and claims (see lahstats/accounts/service.py)",
        description="Speakers claimed as you become unclaimed; groups you own pass to their "
        "longest-standing member; a group with no other member is deleted with its sessions. "
        "Your token stays valid: using it again starts a new, empty profile.",
        responses=error_responses(409),
    )
    async def delete_me(self, caller: Caller, accounts: Accounts, runtime: ProcessRuntime) -> None:
        await accounts.delete_with_audio(caller.user_id, runtime.blobs)
