"""Authentication middleware: every route needs a bearer token, except the few that cannot.

Excluded: ``/health`` (probes), ``/schema`` and its pages (docs), ``/media/`` (signed, expiring
sample URLs that a browser's audio element fetches without headers; the signature is their
credential), and the try-it page's own files (``/``, ``/static/``) and development sign-in
(``/dev/token``, a 404 outside development), which a browser loads before it holds a token.
The verified ``Identity`` is put on ``request.user`` and the token on ``request.auth``.
This middleware only authenticates: what a user may see is decided by the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp

from lahstats.auth.tokens import TokenVerifier, bearer_token

# Anchored: Litestar searches these anywhere in the path, so "/health" alone would also let
# "/sessions/x/health" through.
PUBLIC_PATHS: tuple[str, ...] = (
    r"^/health/?$",
    r"^/schema(/|$)",
    r"^/media/",
    r"^/$",
    r"^/static/",
    r"^/dev/token$",
)
# Browsers' EventSource cannot set headers, so the event streams (progress, live counts) also
# take the token as ?access_token=. Only there: a token in a URL ends up in browser history and
# proxy logs, so no route that acts on data accepts one (our access log records the path without
# the query).
_QUERY_PARAMETER = "access_token"
_STREAM_SUFFIXES = ("/events", "/live")


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Verifies the bearer token of each request with a ``TokenVerifier``."""

    def __init__(self, app: ASGIApp, verifier: TokenVerifier, **options: Any) -> None:
        super().__init__(app, **options)
        self.verifier = verifier

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = _token_of(connection)
        return AuthenticationResult(user=await self.verifier.verify(token), auth=token)


def _token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization")
    if header is None and _is_event_stream(connection):
        query_token: str | None = connection.query_params.get(_QUERY_PARAMETER)
        if query_token:
            return query_token
    return bearer_token(header)


def _is_event_stream(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    path: str = connection.scope["path"]
    return connection.scope.get("method") == "GET" and path.rstrip("/").endswith(_STREAM_SUFFIXES)


def auth_middleware(
    verifier: TokenVerifier, *, public_paths: Sequence[str] = PUBLIC_PATHS
) -> DefineMiddleware:
    """The middleware for ``Litestar(middleware=[...])``; ``public_paths`` are regexes."""
    # An empty pattern list would compile to "", which matches (and so excludes) every path.
    exclude = list(public_paths) or None
    return DefineMiddleware(BearerAuthentication, verifier=verifier, exclude=exclude)
