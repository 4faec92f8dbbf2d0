"""What the API answers about the caller's account: the read schema ``AccountService`` returns."""

from __future__ import annotations

import uuid

import msgspec


class MeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    display_name: str | None
