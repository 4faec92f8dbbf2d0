"""Signed media links: genuine unexpired links pass; expired, tampered or foreign ones do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from lahstats.errors import ConfigurationError, InvalidInput, Unauthorized
from lahstats.storage.keys import sample_key
from lahstats.storage.signing import media_path, sign, verify

SECRET = "a-long-test-secret-that-is-not-used-anywhere-else"
KEY = "sessions/0b9c1f8e-6a47-4c39-9d1e-3f1c2a4b5d6e/samples/speaker_00.mp3"
NOW = 1_760_000_000


def test_a_media_path_carries_a_verifiable_expiry_and_signature() -> None:
    path = media_path(KEY, secret=SECRET, ttl_seconds=600, now=NOW)

    parts = urlsplit(path)
    query = parse_qs(parts.query, strict_parsing=True)
    assert parts.path == f"/media/{KEY}"
    assert query["expires"] == [str(NOW + 600)]
    verify(KEY, expires=NOW + 600, signature=query["signature"][0], secret=SECRET, now=NOW + 599)


def test_signatures_are_urlsafe_base64_without_padding() -> None:
    signature = sign(KEY, secret=SECRET, expires_at=NOW)
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256
    assert set(signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32


def test_the_media_key_is_derived_for_this_purpose_only() -> None:
    # A signature made with the raw secret (as a token would be) must not be a media signature.
    raw = hmac.new(SECRET.encode(), f"{KEY}\n{NOW}".encode(), hashlib.sha256).digest()
    signature = sign(KEY, secret=SECRET, expires_at=NOW)
    assert signature != base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_link_expires_at_its_expiry() -> None:
    signature = sign(KEY, secret=SECRET, expires_at=NOW)
    with pytest.raises(Unauthorized, match="expired"):
        verify(KEY, expires=NOW, signature=signature, secret=SECRET, now=NOW)
    with pytest.raises(Unauthorized, match="expired"):
        verify(KEY, expires=NOW, signature=signature, secret=SECRET)  # the real clock


def test_a_fresh_link_verifies_against_the_real_clock() -> None:
    path = media_path(KEY, secret=SECRET, ttl_seconds=60)
    query = parse_qs(urlsplit(path).query)
    expires = int(query["expires"][0])
    assert time.time() < expires <= time.time() + 60
    verify(KEY, expires=expires, signature=query["signature"][0], secret=SECRET)


@pytest.mark.parametrize(
    ("key", "expires", "secret", "tamper"),
    [
        (KEY.replace("speaker_00", "speaker_01"), NOW + 60, SECRET, False),
        (KEY, NOW + 6000, SECRET, False),
        (KEY, NOW + 60, SECRET + "x", False),
        (KEY, NOW + 60, SECRET, True),
        ("../../etc/passwd", NOW + 60, SECRET, False),
    ],
    ids=["other-key", "longer-expiry", "other-secret", "flipped-signature", "bad-key"],
)
def test_anything_but_the_signed_link_is_refused(
    key: str, expires: int, secret: str, tamper: bool
) -> None:
    signature = sign(KEY, secret=SECRET, expires_at=NOW + 60)
    if tamper:
        signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(Unauthorized, match="signature is invalid"):
        verify(key, expires=expires, signature=signature, secret=secret, now=NOW)


@pytest.mark.parametrize(
    "signature", ["", "é" * 43, "a" * 4096], ids=["empty", "non-ascii", "long"]
)
def test_malformed_signatures_are_refused_not_crashed_on(signature: str) -> None:
    with pytest.raises(Unauthorized, match="signature is invalid"):
        verify(KEY, expires=NOW + 60, signature=signature, secret=SECRET, now=NOW)


def test_a_forged_expired_link_is_refused_for_its_signature() -> None:
    # Signature first: a forger learns nothing about which expiries would still be current.
    with pytest.raises(Unauthorized, match="signature is invalid"):
        verify(KEY, expires=NOW - 1, signature="x" * 43, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "key", ["/etc/passwd", "sessions/../x", "Sessions/A.mp3", "sessions/a b.mp3", ""]
)
def test_only_keys_the_service_makes_are_signed(key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid storage key"):
        sign(key, secret=SECRET, expires_at=NOW)
    with pytest.raises(InvalidInput, match="invalid storage key"):
        media_path(key, secret=SECRET)


def test_keys_from_the_key_builder_are_signable() -> None:
    key = sample_key(uuid.uuid4(), "SPEAKER_03")
    assert media_path(key, secret=SECRET, now=NOW).startswith(f"/media/{key}?expires={NOW + 3600}&")


def test_no_secret_no_links() -> None:
    with pytest.raises(ConfigurationError):
        sign(KEY, secret="", expires_at=NOW)


def test_a_link_must_live_a_while() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        media_path(KEY, secret=SECRET, ttl_seconds=0)
