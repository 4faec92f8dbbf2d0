"""Response and request schemas of the API (msgspec). Table models never appear here."""

from __future__ import annotations

from typing import Any

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
