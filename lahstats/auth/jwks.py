"""The public keys of an identity provider (a JWKS URL), fetched lazily and cached.

Supabase's asymmetric keys (RS256, ES256) are published at ``/auth/v1/.well-known/jwks.json``.
Keys are cached for ``ttl`` seconds and fetched again early when a token names a key we do not
hold (a key rotation), but at most once per ``refetch_interval`` so that tokens with made-up
``kid``s cannot make us hammer the provider. A fetch never hangs a request for longer than
``timeout``. This module never logs key material or tokens.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import structlog

from lahstats.errors import Unauthorized, Unavailable

log = structlog.get_logger(__name__)


class KeySet:
    """The signing keys at one JWKS URL, by ``kid``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        ttl: float = 600.0,
        refetch_interval: float = 30.0,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # time.monotonic() of the last good fetch
        self._attempted_at: float | None = None  # ... and of the last try, good or not
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str, algorithm: str) -> jwt.PyJWK:
        """The key named ``kid``, which must be a key for ``algorithm``."""
        key = self._keys.get(kid) if self._is_fresh() else None
        if key is None:
            key = await self._refresh_for(kid)
        if key.algorithm_name != algorithm:
            # Stops a token from choosing how a key is used (algorithm confusion).
            raise Unauthorized(
                f"invalid token: signing key {kid!r} is a {key.algorithm_name} key, "
                f"not {algorithm}",
                hint="Sign in again to get a token from the configured identity provider.",
            )
        return key

    def _is_fresh(self) -> bool:
        return self._fetched_at is not None and time.monotonic() - self._fetched_at < self.ttl

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or time.monotonic() - self._attempted_at >= self.refetch_interval
        )

    async def _refresh_for(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            # Another request may have fetched while this one waited for the lock.
            if not (self._is_fresh() and kid in self._keys) and self._may_fetch():
                await self._fetch()
            if self._fetched_at is None:
                raise _unreachable()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized(
                f"invalid token: unknown signing key {kid!r}",
                hint="Sign in again; the token was not signed by the configured provider's keys.",
            )
        return key

    async def _fetch(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            # httpx's timeout is per operation; the outer one bounds a server that trickles.
            async with asyncio.timeout(self.timeout):
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                    document = response.json()
        except (httpx.HTTPError, TimeoutError, ValueError) as exc:
            self._fetch_failed(type(exc).__name__)
            return
        keys = _parse(document)
        if keys is None:
            self._fetch_failed("not a JWKS document")
            return
        self._keys = keys
        self._fetched_at = self._attempted_at
        log.info("jwks fetched", url=self.url, keys=len(keys))

    def _fetch_failed(self, reason: str) -> None:
        log.warning("jwks fetch failed", url=self.url, reason=reason)
        if self._fetched_at is None:
            raise _unreachable()
        # Otherwise keep verifying with the keys we have rather than lock everyone out.


def _unreachable() -> Unavailable:
    return Unavailable(
        "cannot fetch the identity provider's signing keys (JWKS)",
        hint="Check that LAHSTATS_JWT_JWKS_URL is right and reachable from the server; "
        "try again shortly.",
    )


def _parse(document: Any) -> dict[str, jwt.PyJWK] | None:
    """The usable signing keys of a JWKS document (unusable ones skipped); None if it is none."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            log.warning("jwks key skipped", kid=entry["kid"], kty=entry.get("kty"))
    return keys
