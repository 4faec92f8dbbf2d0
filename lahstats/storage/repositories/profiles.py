"""Profiles: one row per authenticated user, created on their first request."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlmodel import col

from lahstats.storage.models import Profile
from lahstats.storage.repositories.base import Repository
from lahstats.storage.types import utcnow


def _length(column: str) -> int:
    length: int = Profile.__table__.c[column].type.length  # type: ignore[attr-defined]
    return length


def _storable_name(name: str | None) -> str | None:
    """A name from the identity provider (the user's own text) as the column holds it: without
    control characters (PostgreSQL text cannot hold NUL) and cut to the column's length."""
    if name is None:
        return None
    clean = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(clean.split())[: _length("display_name")].strip() or None


def _storable_email(email: str | None) -> str | None:
    """An email as given, or None when the column cannot hold it faithfully."""
    if email is None or len(email) > _length("email") or not email.isprintable():
        return None
    return email


def _changes(profile: Profile, email: str | None, display_name: str | None) -> dict[str, str]:
    """What ``ensure`` would change in ``profile``: the email and name (storable already) that
    are given and differ from what it holds."""
    given = {"email": email, "display_name": display_name}
    return {
        field: value
        for field, value in given.items()
        if value is not None and getattr(profile, field) != value
    }


class ProfileRepository(Repository):
    async def get(self, user_id: uuid.UUID) -> Profile | None:
        return await self.session.get(Profile, user_id)

    async def is_current(
        self, user_id: uuid.UUID, *, email: str | None = None, display_name: str | None = None
    ) -> bool:
        """True when the profile exists and already holds this email and name: ``ensure`` with
        them would write nothing."""
        profile = await self.get(user_id)
        storable = _storable_email(email), _storable_name(display_name)
        return profile is not None and not _changes(profile, *storable)

    async def ensure(
        self, user_id: uuid.UUID, *, email: str | None = None, display_name: str | None = None
    ) -> Profile:
        """The profile for ``user_id``, created if new; a changed email or name is updated."""
        email, display_name = _storable_email(email), _storable_name(display_name)
        profile = await self.get(user_id)
        if profile is None:
            profile = Profile(id=user_id, email=email, display_name=display_name)
            self.session.add(profile)
        elif changes := _changes(profile, email, display_name):
            for field, value in changes.items():
                setattr(profile, field, value)
            profile.updated_at = utcnow()
        await self.session.flush()
        return profile

    async def delete(self, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(delete(Profile).where(col(Profile.id) == user_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
