"""Tokens: the development round trip, every reason a token is refused, and JWKS-signed tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lahstats.auth.jwks import KeySet
from lahstats.auth.tokens import (
    Identity,
    TokenVerifier,
    bearer_token,
    create_token,
    user_id_for_email,
)
from lahstats.errors import InvalidInput, Unauthorized, Unavailable
from lahstats.settings import Settings
from tests.auth.conftest import JwksServer
from tests.conftest import free_port

USER = uuid.UUID("0f1e2d3c-4b5a-4968-8776-655443322110")


def _claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(USER),
        "email": "mei@example.com",
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 3600,
        "role": "authenticated",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _hs256(settings: Settings, **changes: Any) -> str:
    return jwt.encode(_claims(settings, **changes), settings.jwt_signing_secret(), "HS256")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_created_token_verifies_into_its_identity(settings: Settings) -> None:
    token = create_token(settings, email="Mei@Example.com", name="Mei Ling")
    identity = await TokenVerifier(settings).verify(token)
    assert identity == Identity(
        user_id=user_id_for_email("mei@example.com"), email="Mei@Example.com", name="Mei Ling"
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "authenticated"
    assert claims["role"] == "authenticated"
    assert claims["user_metadata"] == {"name": "Mei Ling"}
    assert claims["exp"] - claims["iat"] == 7 * 86400


async def test_a_given_user_id_and_lifetime_are_kept(settings: Settings) -> None:
    token = create_token(settings, email="mei@example.com", user_id=USER, days=0.5)
    identity = await TokenVerifier(settings).verify(token)
    assert identity == Identity(user_id=USER, email="mei@example.com", name=None)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "user_metadata" not in claims
    assert claims["exp"] - claims["iat"] == 43200


def test_user_ids_are_stable_per_email() -> None:
    assert user_id_for_email("Mei@Example.com ") == user_id_for_email("mei@example.com")
    assert user_id_for_email("mei@example.com") != user_id_for_email("ah.beng@example.com")


def test_a_token_must_live_some_time(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="positive number of days"):
        create_token(settings, email="mei@example.com", days=0)


@pytest.mark.parametrize(
    ("metadata", "top_level", "expected"),
    [
        ({"full_name": "Tan Ah Beng"}, None, "Tan Ah Beng"),
        ({"name": "Beng", "full_name": "Tan Ah Beng"}, None, "Beng"),
        (None, "Ah Beng", "Ah Beng"),
        ({"name": "  "}, None, None),
    ],
    ids=["full-name", "name-first", "top-level", "blank"],
)
async def test_the_name_comes_from_supabase_metadata(
    settings: Settings, metadata: dict[str, str] | None, top_level: str | None, expected: str | None
) -> None:
    token = _hs256(settings, user_metadata=metadata, name=top_level)
    assert (await TokenVerifier(settings).verify(token)).name == expected


async def test_a_token_expired_within_the_leeway_still_passes(settings: Settings) -> None:
    token = _hs256(settings, exp=int(time.time()) - 10)
    assert (await TokenVerifier(settings).verify(token)).user_id == USER


def _tampered(settings: Settings) -> str:
    header, _, signature = _hs256(settings).split(".")
    forged = _b64(_claims(settings, sub=str(uuid.uuid4())))
    return f"{header}.{forged}.{signature}"


def _unsigned(settings: Settings) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(settings))}."


def _other_secret(settings: Settings) -> str:
    return jwt.encode(_claims(settings), "another-secret-that-is-long-enough-for-hs256", "HS256")


REFUSED = {
    "malformed": (lambda s: "not.a.jwt", "malformed token"),
    "garbage": (lambda s: "Zm9v", "malformed token"),
    "alg-none": (_unsigned, "alg: none"),
    "no-alg": (
        lambda s: f"{_b64({'typ': 'JWT'})}.{_b64(_claims(s))}.c2ln",
        "no signing algorithm",
    ),
    "alg-hs512": (
        lambda s: jwt.encode(_claims(s), s.jwt_signing_secret(), "HS512"),
        "algorithm HS512 is not allowed",
    ),
    "tampered": (_tampered, "tampered"),
    "other-secret": (_other_secret, "bad signature"),
    "expired": (lambda s: _hs256(s, exp=int(time.time()) - 120), "token expired"),
    "not-yet-valid": (lambda s: _hs256(s, nbf=int(time.time()) + 600), "not yet valid"),
    "issued-in-future": (lambda s: _hs256(s, iat=int(time.time()) + 600), "not yet valid"),
    "wrong-audience": (lambda s: _hs256(s, aud="anon"), "wrong audience"),
    "no-audience": (lambda s: _hs256(s, aud=None), "no `aud` claim"),
    "no-sub": (lambda s: _hs256(s, sub=None), "no `sub` claim"),
    "sub-not-uuid": (lambda s: _hs256(s, sub="user-42"), "not a user id"),
    "sub-not-string": (lambda s: _hs256(s, sub=42), "not a user id"),
    "no-exp": (lambda s: _hs256(s, exp=None), "no `exp` claim"),
}


@pytest.mark.parametrize(("make", "reason"), REFUSED.values(), ids=REFUSED.keys())
async def test_bad_tokens_are_refused_with_the_reason(
    settings: Settings, make: Any, reason: str
) -> None:
    token = make(settings)
    with pytest.raises(Unauthorized, match=reason) as caught:
        await TokenVerifier(settings).verify(token)
    assert settings.jwt_signing_secret() not in str(caught.value)
    assert token not in str(caught.value)


async def test_a_created_expired_token_is_refused(settings: Settings) -> None:
    token = create_token(
        settings, email="mei@example.com", days=1, now=datetime.now(UTC) - timedelta(days=2)
    )
    with pytest.raises(Unauthorized, match="token expired"):
        await TokenVerifier(settings).verify(token)


async def test_asymmetric_tokens_are_refused_without_a_jwks_url(
    settings: Settings, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthorized, match="algorithm RS256 is not allowed"):
        await TokenVerifier(settings).verify(token)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Basic dXNlcjpwYXNz", "not `Bearer <token>`"),
        ("Bearer", "not `Bearer <token>`"),
        ("Bearer a b", "not `Bearer <token>`"),
    ],
    ids=["absent", "empty", "basic", "no-token", "two-tokens"],
)
def test_bearer_header_problems_are_unauthorized(header: str | None, reason: str) -> None:
    with pytest.raises(Unauthorized, match=reason):
        bearer_token(header)


def test_the_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer abc.def.ghi ") == "abc.def.ghi"


# JWKS: RS256 and ES256 tokens signed by an identity provider's keys.


def _with_jwks(settings: Settings, server: JwksServer) -> Settings:
    return settings.model_copy(update={"jwt_jwks_url": server.url})


async def test_rs256_and_es256_tokens_verify_with_the_jwks(
    settings: Settings,
    jwks_server: JwksServer,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    jwks_server.publish("rsa-1", rsa_key, alg="RS256")
    jwks_server.publish("ec-1", ec_key)  # no "alg": P-256 means ES256
    verifier = TokenVerifier(_with_jwks(settings, jwks_server))
    rs256 = jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "rsa-1"})
    es256 = jwt.encode(_claims(settings), ec_key, "ES256", headers={"kid": "ec-1"})
    assert (await verifier.verify(rs256)).user_id == USER
    assert (await verifier.verify(es256)).email == "mei@example.com"
    assert (await verifier.verify(_hs256(settings))).user_id == USER  # HS256 still accepted
    assert jwks_server.requests == 1  # cached


async def test_jwks_tokens_get_the_same_claim_checks(
    settings: Settings, jwks_server: JwksServer, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks_server.publish("ec-1", ec_key)
    verifier = TokenVerifier(_with_jwks(settings, jwks_server))
    expired = jwt.encode(
        _claims(settings, exp=int(time.time()) - 120), ec_key, "ES256", headers={"kid": "ec-1"}
    )
    with pytest.raises(Unauthorized, match="token expired"):
        await verifier.verify(expired)
    header, _, signature = jwt.encode(
        _claims(settings), ec_key, "ES256", headers={"kid": "ec-1"}
    ).split(".")
    with pytest.raises(Unauthorized, match="tampered"):
        await verifier.verify(
            f"{header}.{_b64(_claims(settings, sub=str(uuid.uuid4())))}.{signature}"
        )


async def test_a_token_cannot_choose_how_a_key_is_used(
    settings: Settings,
    jwks_server: JwksServer,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    jwks_server.publish("ec-1", ec_key)
    verifier = TokenVerifier(_with_jwks(settings, jwks_server))
    token = jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "ec-1"})
    with pytest.raises(Unauthorized, match="is a ES256 key, not RS256"):
        await verifier.verify(token)
    no_kid = jwt.encode(_claims(settings), ec_key, "ES256")
    with pytest.raises(Unauthorized, match="names no signing key"):
        await verifier.verify(no_kid)


async def test_an_unknown_kid_refetches_once_then_is_refused(
    settings: Settings, jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks_server.publish("old", rsa_key)
    verifier = TokenVerifier(_with_jwks(settings, jwks_server))
    assert await verifier.verify(
        jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "old"})
    )
    stranger = jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "made-up"})
    for _ in range(3):
        with pytest.raises(Unauthorized, match="unknown signing key 'made-up'"):
            await verifier.verify(stranger)
    # The first fetch was moments ago: made-up kids do not make us hammer the provider.
    assert jwks_server.requests == 1


async def test_a_rotated_key_is_fetched_when_a_token_names_it(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks_server.publish("old", rsa_key)
    keys = KeySet(jwks_server.url, refetch_interval=0.0)
    assert (await keys.key_for("old", "RS256")).algorithm_name == "RS256"
    jwks_server.publish("new", ec_key)
    assert (await keys.key_for("new", "ES256")).algorithm_name == "ES256"
    assert jwks_server.requests == 2


async def test_an_unreachable_jwks_is_unavailable_at_once(
    settings: Settings, rsa_key: rsa.RSAPrivateKey
) -> None:
    down = settings.model_copy(update={"jwt_jwks_url": f"http://127.0.0.1:{free_port()}/jwks"})
    token = jwt.encode(_claims(settings), rsa_key, "RS256", headers={"kid": "k1"})
    started = time.monotonic()
    with pytest.raises(Unavailable, match="signing keys") as caught:
        await TokenVerifier(down).verify(token)
    assert "LAHSTATS_JWT_JWKS_URL" in caught.value.hint
    assert time.monotonic() - started < 2


async def test_a_hanging_jwks_times_out(jwks_server: JwksServer) -> None:
    jwks_server.delay = 2.0
    keys = KeySet(jwks_server.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await keys.key_for("k1", "RS256")
    assert time.monotonic() - started < 1.5
    # Within the refetch interval the next request is answered at once, without a new fetch.
    with pytest.raises(Unavailable):
        await asyncio.wait_for(keys.key_for("k1", "RS256"), timeout=0.1)
    assert jwks_server.requests == 1


async def test_cached_keys_outlive_a_jwks_outage(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks_server.publish("k1", rsa_key)
    keys = KeySet(jwks_server.url, ttl=0.0, refetch_interval=0.0, timeout=0.3)
    await keys.key_for("k1", "RS256")
    jwks_server.document = {"keys": "not a list"}  # a broken deploy of the provider
    assert (await keys.key_for("k1", "RS256")).key_id == "k1"
    jwks_server.delay = 1.0  # then a provider too slow to answer
    assert (await keys.key_for("k1", "RS256")).key_id == "k1"
    assert jwks_server.requests == 3
