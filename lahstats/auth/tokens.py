"""Bearer tokens: make a development token, and verify any token into an ``Identity``.

Tokens are Supabase-style JWTs: ``sub`` is the user id (a UUID), ``email``, ``aud``, ``exp``, and
the display name in ``user_metadata``. HS256 tokens are checked with the configured secret; with a
JWKS URL configured, RS256 and ES256 tokens are checked with the provider's published keys. Every
refusal is an ``Unauthorized`` that says why. This module never logs or echoes a token or secret.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.exceptions import InvalidSubjectError

from lahstats.auth.jwks import KeySet
from lahstats.errors import InvalidInput, Unauthorized
from lahstats.settings import Settings

# Development users are made from an email; the namespace keeps their ids stable across machines.
_USER_NAMESPACE = uuid.UUID("5b1f3c1e-6a2d-4c6e-9f0b-1a7d2e4c8b93")
_HMAC_ALGORITHM = "HS256"
_JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
# Clocks of phones, the identity provider and this server never agree to the second.
LEEWAY_SECONDS = 30
_NOT_A_USER_ID = "token `sub` is not a user id (UUID)"
_SIGN_IN_AGAIN = "Sign in again (or run `lahstats token create` in development) and resend."


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller, as the token names them."""

    user_id: uuid.UUID
    email: str | None
    name: str | None


def user_id_for_email(email: str) -> uuid.UUID:
    """The same user id for the same email, so a development token always names the same user."""
    return uuid.uuid5(_USER_NAMESPACE, email.strip().lower())


def create_token(
    settings: Settings,
    *,
    email: str,
    name: str | None = None,
    user_id: uuid.UUID | None = None,
    days: float = 7,
    now: datetime | None = None,
) -> str:
    """An HS256 token signed with the configured secret, shaped like Supabase's."""
    if days <= 0:
        raise InvalidInput(f"a token must live a positive number of days, not {days}")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id or user_id_for_email(email)),
        "email": email,
        "aud": settings.jwt_audience,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(days=days)).timestamp()),
        "role": "authenticated",
    }
    if name:
        claims["user_metadata"] = {"name": name}
    return jwt.encode(claims, settings.jwt_signing_secret(), algorithm=_HMAC_ALGORITHM)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization or not authorization.strip():
        raise Unauthorized("missing bearer token", hint="Send `Authorization: Bearer <token>`.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized(
            "the Authorization header is not `Bearer <token>`",
            hint="Send `Authorization: Bearer <token>`.",
        )
    return token


class TokenVerifier:
    """Checks tokens against the configured secret and, optionally, a JWKS URL."""

    def __init__(self, settings: Settings, *, leeway: float = LEEWAY_SECONDS) -> None:
        self._secret = settings.jwt_signing_secret()  # fails at startup, not on each request
        self._audience = settings.jwt_audience
        self._keys = KeySet(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._leeway = leeway

    async def verify(self, token: str) -> Identity:
        """The caller named by a valid token; ``Unauthorized`` saying why otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused("malformed token (not a JWT)") from exc
        algorithm = header.get("alg")
        key: Any
        if not isinstance(algorithm, str) or not algorithm:
            raise _refused("malformed token (no signing algorithm in its header)")
        if algorithm.lower() == "none":
            # An unsigned token proves nothing; refused before any library gets a say.
            raise _refused("unsigned token (alg: none) refused")
        if algorithm == _HMAC_ALGORITHM:
            key = self._secret
        elif algorithm in _JWKS_ALGORITHMS and self._keys is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise _refused(f"{algorithm} token names no signing key (kid)")
            key = (await self._keys.key_for(kid, algorithm)).key
        else:
            raise _refused(f"signing algorithm {algorithm} is not allowed")
        return _identity(self._decode(token, key, algorithm))

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise _refused(
                "bad signature: the token was tampered with or signed elsewhere"
            ) from exc
        except jwt.ExpiredSignatureError as exc:
            raise _refused("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused("token not yet valid (nbf/iat in the future)") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"token has no `{exc.claim}` claim") from exc
        except InvalidSubjectError as exc:
            raise _refused(_NOT_A_USER_ID) from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused(f"wrong audience: expected {self._audience!r}") from exc
        except jwt.PyJWTError as exc:
            raise _refused(f"invalid token ({type(exc).__name__})") from exc
        return claims


def _identity(claims: dict[str, Any]) -> Identity:
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise _refused(_NOT_A_USER_ID) from exc
    email = claims.get("email")
    return Identity(
        user_id=user_id,
        email=email if isinstance(email, str) and email else None,
        name=_name(claims),
    )


def _name(claims: dict[str, Any]) -> str | None:
    metadata = claims.get("user_metadata")
    candidates = (
        [metadata.get("name"), metadata.get("full_name")] if isinstance(metadata, dict) else []
    )
    for candidate in [*candidates, claims.get("name")]:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _refused(reason: str) -> Unauthorized:
    return Unauthorized(reason, hint=_SIGN_IN_AGAIN)
