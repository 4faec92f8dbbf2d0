"""The try-it page at ``/`` and the development sign-in it uses.

The page is plain HTML, CSS and JavaScript under ``lahstats/web`` (no build step, nothing fetched
from the network): ``/`` answers ``index.html`` and ``/static/`` the rest. It talks to the same API
as the mobile app, with the token the user signed in with.

``POST /dev/token`` makes a token for any email, which is only safe on a developer's machine: it
answers in development and test and is a 404 that says so everywhere else (where users sign in with
the identity provider and paste its token).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Controller, Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody
from litestar.static_files import create_static_files_router

from lahstats.api.deps import ProcessRuntime
from lahstats.api.errors import error_responses
from lahstats.auth.tokens import create_token, user_id_for_email
from lahstats.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEV_TOKEN_DAYS = 7

# The page runs only its own files: no inline script, nothing from another origin. `blob:` media
# plays back a recording before it is sent; `data:` images are the page's inline icons.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The microphone for recording, from this origin only.
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}
# Revalidated on every load (ETag / Last-Modified): a new release shows at once, unchanged files
# cost a 304.
_REVALIDATE = CacheControlHeader(no_cache=True)


class DevTokenIn(msgspec.Struct, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class DevTokenOut(msgspec.Struct, kw_only=True):
    token: str
    user_id: str
    expires_at: datetime


class WebController(Controller):
    @get("/", include_in_schema=False, cache_control=_REVALIDATE)
    async def index(self) -> Response[bytes]:
        return Response(
            (WEB_DIR / "index.html").read_bytes(),
            media_type="text/html",
            headers=PAGE_HEADERS,
        )


class DevTokenController(Controller):
    path = "/dev/token"
    tags = ["development"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary="A token for any email (development only: a 404 in production)",
        status_code=201,
        responses=error_responses(404, 413, 415),
    )
    async def dev_token(self, data: JSONBody[DevTokenIn], runtime: ProcessRuntime) -> DevTokenOut:
        settings = runtime.settings
        if not settings.is_development:
            raise NotFound(
                "development sign-in is disabled outside development",
                hint="Sign in with the identity provider and paste its access token.",
            )
        email = data.email.strip()
        issued = datetime.now(UTC)
        token = create_token(
            settings,
            email=email,
            name=data.name.strip() if data.name else None,
            days=DEV_TOKEN_DAYS,
            now=issued,
        )
        return DevTokenOut(
            token=token,
            user_id=str(user_id_for_email(email)),
            expires_at=issued + timedelta(days=DEV_TOKEN_DAYS),
        )


def static_files() -> Router:
    """``/static/``: the page's scripts and styles, with the page's security headers."""

    async def add_headers(response: Response[object]) -> Response[object]:
        response.headers.update(PAGE_HEADERS)
        return response

    return create_static_files_router(
        path="/static",
        directories=[WEB_DIR],
        cache_control=_REVALIDATE,
        include_in_schema=False,
        after_request=add_headers,
    )
