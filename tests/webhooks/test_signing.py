"""The signature receivers check: a round trip, and every way a forged or stale request fails."""

from __future__ import annotations

import uuid

import pytest

from lahstats.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature,
    signed_headers,
    verify,
)

SECRET = "whsec_" + "ab" * 32
BODY = b'{"event":"session.failed","id":"1"}'
T = 1_760_000_000


def header(body: bytes = BODY, *, secret: str = SECRET, timestamp: int = T) -> str:
    return signed_headers(
        secret, body, event="session.failed", delivery_id=uuid.UUID(int=1), timestamp=timestamp
    )[SIGNATURE_HEADER]


def test_signed_headers_round_trip() -> None:
    delivery_id = uuid.uuid4()
    headers = signed_headers(SECRET, BODY, event="session.completed", delivery_id=delivery_id)

    assert headers[EVENT_HEADER] == "session.completed"
    assert headers[DELIVERY_HEADER] == str(delivery_id)
    assert verify(SECRET, headers[SIGNATURE_HEADER], BODY)
    timestamp = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
    assert headers[SIGNATURE_HEADER] == f"t={timestamp},v1={signature(SECRET, timestamp, BODY)}"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # A fixed vector, so receivers in any language can check their implementation against it.
    assert signature("key", 1, b"{}") == (
        "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
    )


@pytest.mark.parametrize(
    ("signed", "body", "now"),
    [
        pytest.param(header(), BODY + b" ", T, id="tampered-body"),
        pytest.param(header(secret="whsec_other"), BODY, T, id="other-secret"),
        pytest.param(header(), BODY, T + 301, id="expired"),
        pytest.param(header(), BODY, T - 301, id="from-the-future"),
        pytest.param(
            f"t={T + 1},v1={signature(SECRET, T, BODY)}", BODY, T, id="timestamp-changed-after"
        ),
        pytest.param("", BODY, T, id="empty"),
        pytest.param(f"v1={signature(SECRET, T, BODY)}", BODY, T, id="no-timestamp"),
        pytest.param(f"t={T}", BODY, T, id="no-signature"),
        pytest.param(f"t=abc,v1={signature(SECRET, T, BODY)}", BODY, T, id="bad-timestamp"),
        pytest.param(f"t={T},v1=é", BODY, T, id="non-ascii-signature"),
    ],
)
def test_forged_or_stale_requests_fail(signed: str, body: bytes, now: int) -> None:
    assert not verify(SECRET, signed, body, 300, now=now)


def test_a_timestamp_swapped_into_a_captured_signature_fails() -> None:
    captured = header()
    replayed = captured.replace(f"t={T}", f"t={T + 3600}")
    assert verify(SECRET, captured, BODY, 300, now=T + 10)
    assert not verify(SECRET, replayed, BODY, 300, now=T + 3600)


def test_any_of_several_signatures_may_match_while_a_secret_is_rotated() -> None:
    rotated = f"t={T},v1={signature('whsec_old', T, BODY)},v1={signature(SECRET, T, BODY)}"
    assert verify(SECRET, rotated, BODY, now=T)
    assert verify("whsec_old", rotated, BODY, now=T)
    assert not verify("whsec_third", rotated, BODY, now=T)
