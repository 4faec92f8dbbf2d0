"""Signed, expiring URLs for blobs, so a browser can play a speaker's sample without a token.

A link is ``/media/<key>?expires=<unix seconds>&signature=<sig>``: an HMAC-SHA256 over the key and
the expiry, with a key derived from the service secret for this purpose only (a leaked media
signature says nothing about tokens signed with the same secret). Only keys that pass
``validate_key`` are signed, so a link can never point outside the store. This module must never
put the secret, or the derived key, in a message or a log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from lahstats.errors import ConfigurationError, InvalidInput, Unauthorized
from lahstats.storage.blobs import validate_key

_PURPOSE = b"lahstats media v1"
_EXPIRED_HINT = "The link has expired; list the session's speakers again for a fresh one."


def _media_key(secret: str) -> bytes:
    if not secret:
        raise ConfigurationError(
            "media links need a signing secret", hint="Set LAHSTATS_JWT_SECRET."
        )
    return hmac.new(secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()


def sign(key: str, *, secret: str, expires_at: int) -> str:
    """The urlsafe base64 signature (no padding) of ``key`` valid until ``expires_at``."""
    validate_key(key)
    # The newline cannot occur in a valid key, so no other (key, expiry) pair signs the same bytes.
    message = f"{key}\n{int(expires_at)}".encode()
    digest = hmac.new(_media_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(key: str, *, expires: int, signature: str, secret: str, now: int | None = None) -> None:
    """Returns when the link is genuine and unexpired; raises ``Unauthorized`` saying which not."""
    try:
        expected = sign(key, secret=secret, expires_at=expires)
    except InvalidInput:
        expected = ""  # a key we would never sign: no signature can be right
    if not expected or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Unauthorized("media link signature is invalid", hint=_EXPIRED_HINT)
    # Checked after the signature, so a forged link learns nothing about expiry.
    current = int(time.time()) if now is None else now
    if current >= expires:
        raise Unauthorized("media link has expired", hint=_EXPIRED_HINT)


def media_path(key: str, *, secret: str, ttl_seconds: int = 3600, now: int | None = None) -> str:
    """A path that serves ``key`` for ``ttl_seconds`` from ``now`` without a token."""
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    expires_at = (int(time.time()) if now is None else now) + ttl_seconds
    signature = sign(key, secret=secret, expires_at=expires_at)
    return f"/media/{key}?expires={expires_at}&signature={signature}"
