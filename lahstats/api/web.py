"""The try-it page at ``/`` and the development sign-in it uses.

The page is plain HTML, CSS and JavaScript under ``lahstats/web`` (no build step, nothing fetched
from the network): ``/`` answers ``index.html`` and ``/static/`` the rest. It talks to the same API
as the mobile app, with the token the user signed in with.

``POST /dev/token`` makes a token for any email, which is only safe on a developer's machine: it
answers in development and test and is a 404 that says so everywhere else (where users sign in with
the identity provider and paste its token).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, HeaderParameter, JSONBody

from lahstats.api.deps import ProcessRuntime
from lahstats.api.errors import error_responses
from lahstats.auth.tokens import create_token, user_id_for_email
from lahstats.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEV_TOKEN_DAYS = 7

# The page runs only its own files: no inline script or style, nothing from another origin.
# `data:` images are the page's inline icon.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
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
# Revalidated on every load (ETag): a new release shows at once, unchanged files cost a 304.
_REVALIDATE = CacheControlHeader(no_cache=True)
# The page's files and their media types: nothing else is ever read from WEB_DIR.
_PAGE_FILES = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}


class DevTokenIn(msgspec.Struct, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class DevTokenOut(msgspec.Struct, kw_only=True):
    token: str
    user_id: str
    expires_at: datetime


def _page_file(name: str, if_none_match: str | None) -> Response[bytes]:
    """One of the page's files, with a strong ETag; 304 with no body when the browser has it."""
    if name not in _PAGE_FILES:
        raise NotFound(
            f"the page has no file {name!r}",
            hint="The page's files are index.html, app.js and app.css.",
        )
    content = (WEB_DIR / name).read_bytes()
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {**PAGE_HEADERS, "ETag": etag}
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(b"", status_code=304, headers=headers)
    return Response(content, media_type=_PAGE_FILES[name], headers=headers)


class WebController(Controller):
    """``/`` and ``/static/{name}``: only the page's own files, looked up by exact name (no path
    from the request ever reaches the file system), read on each request so that an edit shows
    on the next reload."""

    include_in_schema = False

    @get("/", cache_control=_REVALIDATE)
    async def index(
        self, if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None
    ) -> Response[bytes]:
        return _page_file("index.html", if_none_match)

    @get("/static/{name:str}", cache_control=_REVALIDATE)
    async def static(
        self,
        name: FromPath[str],
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None,
    ) -> Response[bytes]:
        return _page_file(name, if_none_match)


class DevTokenController(Controller):
    path = "/dev/token"
    tags = ["development"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary="A token for any email (development only: a 404 in production)",
        status_code=201,
        # A public route: no 401 (error_responses lists it for signed-in ones).
        responses={
            status: spec for status, spec in error_responses(404, 413, 415).items() if status != 401
        },
    )
    async def dev_token(self, data: JSONBody[DevTokenIn], runtime: ProcessRuntime) -> DevTokenOut:
        settings = runtime.settings
        if not settings.is_development:
            raise NotFound(
                "development sign-in is disabled outside development",
                hint="Sign in with the identity provider and paste its access token.",
            )
        email = data.email
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
