"""Deleting an account (``DELETE /users/me``): the person goes, their friends' history stays.

    profile                       deleted; by cascade its memberships, voiceprints, voice
                                  enrolments and claimed word counts
    speakers claimed as them      unclaimed (``ClaimService.release``): the counts fall back to
                                  unclaimed, a completed session is open for claims again
    claims they made for others   kept (another member's voice, a guest); only the claimer is
                                  forgotten (``claimed_by`` -> NULL by foreign key)
    sessions they started         kept (``started_by`` -> NULL)
    groups they own               handed to the longest-standing other member
    groups with no other member   deleted with their sessions (blobs: the caller's, after commit)

Nothing changes when the account cannot go: a group about to be deleted with a session still
processing is a ``Conflict``, checked before anything is touched. The bearer token belongs to the
auth provider and stays valid; a request made with it afterwards starts a new, empty profile, like
a first sign-in. The service never commits (the request's unit of work does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.accounts.schemas import MeOut
from lahstats.errors import Conflict, NotFound
from lahstats.speakers.claims import ClaimService
from lahstats.storage.blobs import BlobStore
from lahstats.storage.keys import session_prefix
from lahstats.storage.models import MemberRole, SessionStatus
from lahstats.storage.repositories import GroupRepository, ProfileRepository, SpeakerRepository
from lahstats.storage.repositories.erasure import ErasureRepository


@dataclass(frozen=True, slots=True)
class AccountDeletion:
    claims_released: int
    groups_handed_over: tuple[uuid.UUID, ...]
    groups_deleted: tuple[uuid.UUID, ...]
    sessions_deleted: tuple[uuid.UUID, ...]  # their blobs are the caller's to delete


@dataclass(frozen=True, slots=True)
class _GroupFate:
    handovers: list[tuple[uuid.UUID, uuid.UUID]]  # (group, new owner)
    emptied: list[uuid.UUID]


class AccountService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.groups = GroupRepository(db)
        self.erasure = ErasureRepository(db)

    async def ensure_profile(
        self, user_id: uuid.UUID, *, email: str | None, display_name: str | None
    ) -> None:
        """The user's profile, made on their first request.

        Most requests find it as it is and write nothing: no savepoint, so on SQLite no write
        lock is taken for them (a savepoint there takes it, see ``storage.database``).
        """
        profiles = ProfileRepository(self.db)
        if await profiles.is_current(user_id, email=email, display_name=display_name):
            return
        try:
            async with self.db.begin_nested():
                await profiles.ensure(user_id, email=email, display_name=display_name)
        except IntegrityError:
            # Two first requests of one user raced to create the profile: the other one did.
            await profiles.ensure(user_id)

    async def profile(self, user_id: uuid.UUID) -> MeOut:
        """The caller's profile (made on their first request)."""
        profile = await ProfileRepository(self.db).get(user_id)
        if profile is None:
            raise NotFound("this account has no profile", hint="Send the request again.")
        return MeOut(id=profile.id, email=profile.email, display_name=profile.display_name)

    async def delete_with_audio(self, user_id: uuid.UUID, blobs: BlobStore) -> AccountDeletion:
        """``delete``, committed, then the blobs of the sessions deleted with it removed."""
        deleted = await self.delete(user_id)
        await self.db.commit()  # rows first: a blob left behind by a failure below is harmless
        for session_id in deleted.sessions_deleted:
            await blobs.delete_prefix(session_prefix(session_id))
        return deleted

    async def delete(self, user_id: uuid.UUID) -> AccountDeletion:
        fate = await self._group_fate(user_id)
        doomed: list[uuid.UUID] = []
        for group_id in fate.emptied:
            for session_id, status in await self.erasure.group_sessions(group_id):
                if status == SessionStatus.PROCESSING:
                    raise Conflict(
                        f"session {session_id} is being processed, and its group would be "
                        "deleted with your account (you are its only member)",
                        hint="Wait until the session is ready_for_claiming or failed, then "
                        "delete your account again.",
                    )
                doomed.append(session_id)
        released = await self._release_claims(user_id, skip=set(doomed))
        for group_id, new_owner in fate.handovers:
            await self.erasure.set_role(group_id, new_owner, MemberRole.OWNER)
        for group_id in fate.emptied:
            await self.erasure.delete_group(group_id)
        await ProfileRepository(self.db).delete(user_id)
        return AccountDeletion(
            claims_released=released,
            groups_handed_over=tuple(group_id for group_id, _ in fate.handovers),
            groups_deleted=tuple(fate.emptied),
            sessions_deleted=tuple(doomed),
        )

    async def _group_fate(self, user_id: uuid.UUID) -> _GroupFate:
        fate = _GroupFate(handovers=[], emptied=[])
        for group in await self.groups.list_for_user(user_id):
            members = [member for member, _ in await self.groups.members(group.id)]  # by joined_at
            others = [member for member in members if member.user_id != user_id]
            owns = any(m.user_id == user_id and m.role == MemberRole.OWNER for m in members)
            if not others:
                fate.emptied.append(group.id)
            elif owns and all(member.role != MemberRole.OWNER for member in others):
                fate.handovers.append((group.id, others[0].user_id))
        return fate

    async def _release_claims(self, user_id: uuid.UUID, *, skip: set[uuid.UUID]) -> int:
        claims = ClaimService(self.db)
        speakers = SpeakerRepository(self.db)
        released = 0
        for session_id in await self.erasure.sessions_hearing(user_id):
            if session_id in skip:
                continue
            # Under the session's speaker lock, like any claim: a racing claim sees the result.
            for speaker in await speakers.lock_for_session(session_id):
                if speaker.attributed_to_user_id == user_id and await claims.release(speaker):
                    released += 1
        return released
