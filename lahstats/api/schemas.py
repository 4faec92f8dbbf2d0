"""The API's own schemas (msgspec): request bodies, health, errors and plain acknowledgements.

What the API answers about sessions, speakers, groups, words and webhooks are read schemas that
their services return: ``sessions/schemas.py``, ``speakers/schemas.py``, ``groups/schemas.py``,
``accounts/schemas.py``, ``words/schemas.py`` and ``webhooks/schemas.py``. Table models never
appear in a response.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec


class PartHealthOut(msgspec.Struct, kw_only=True):
    ok: bool
    backend: str
    detail: str
    fix: str | None = None
    device: str | None = None
    roles: dict[str, dict[str, Any]] | None = None


class HealthOut(msgspec.Struct, kw_only=True):
    status: str
    version: str
    environment: str
    failing: list[str]
    checks: dict[str, PartHealthOut]


# The largest offset or event id a query may name: what JSON clients hold exactly (2^53 - 1), far
# below PostgreSQL's bigint, past which the database refused the query with a 500.
QUERY_INT_MAX = 2**53 - 1


# ---- groups -----------------------------------------------------------------------------------


class GroupCreate(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GroupJoin(msgspec.Struct, kw_only=True):
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class GroupUpdate(msgspec.Struct, kw_only=True):
    auto_claim_voices: bool | None = None


# ---- sessions ---------------------------------------------------------------------------------


class SessionStart(msgspec.Struct, kw_only=True):
    group_id: uuid.UUID


# ---- speakers, claims and transcripts ---------------------------------------------------------


class ClaimIn(msgspec.Struct, kw_only=True):
    speaker_id: uuid.UUID
    claim_type: Literal["self", "user", "guest"]
    user_id: uuid.UUID | None = None
    guest_name: str | None = None


class SuccessOut(msgspec.Struct, kw_only=True):
    success: bool = True


# ---- errors -----------------------------------------------------------------------------------


class ErrorOut(msgspec.Struct, kw_only=True):
    """Every error's body (``api/errors.py``): show ``message``, act on ``hint``."""

    status_code: int
    error: str
    message: str
    hint: str
    request_id: str | None
    details: Any = None  # only with some 400s; `Any | None` documents an ambiguous oneOf
