"""How a webhook request proves it came from us, and how a receiver checks it.

    X-LahStats-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>
    X-LahStats-Event:     session.failed
    X-LahStats-Delivery:  <delivery id: the same on every retry, for receivers to deduplicate>

The timestamp is signed with the body, so a captured request cannot be replayed after the
receiver's tolerance. ``verify`` uses the standard library only, so receivers can copy it. Nothing
here logs: a secret or a signature must never reach a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

SIGNATURE_HEADER = "X-LahStats-Signature"
EVENT_HEADER = "X-LahStats-Event"
DELIVERY_HEADER = "X-LahStats-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, *, event: str, delivery_id: uuid.UUID, timestamp: int | None = None
) -> dict[str, str]:
    """Every header a delivery carries besides the content type."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        SIGNATURE_HEADER: f"t={t},v1={signature(secret, t, body)}",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }


def verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs exactly ``body`` with ``secret`` within ``tolerance`` seconds.

    ``body`` is the raw request body, before any JSON parsing. Several ``v1=`` entries may appear
    (one per secret while a secret is rotated); any one matching is enough.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header is untrusted input.
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates)
