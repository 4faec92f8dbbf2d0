"""What a request must look like before a handler parses it: body size caps, content types, text.

Sizes: every route takes at most ``MAX_JSON_BODY_BYTES`` (JSON bodies here are a name, a URL, a
word), except the chunk routes (``chunk_body_cap``) and voice enrolment, which set their own.

``check_request`` (an app-wide guard, so it runs after authentication and before the rate limits
and the body parsing) refuses with a message saying what is wrong:

- a body for a JSON route sent as another type (a form, text/plain) or an upload that is not
  multipart/form-data: 415; a JSON route also takes a body with no Content-Type at all;
- no JSON body at all, one that is not UTF-8 or one nested too deeply: 400 (the parser would
  say "'data'", or fail with a 500);
- a NUL character in the path, the query or a JSON string: 400 (no field takes one, and
  PostgreSQL cannot store one in text, which would end the request in a 500).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import BodyKwarg

from lahstats.errors import UnsupportedMediaType
from lahstats.settings import Settings

MAX_JSON_BODY_BYTES = 64 * 1024
_MULTIPART_SLACK_BYTES = 1024 * 1024  # boundaries and part headers around the chunk's bytes
_JSON_HINT = 'Send the body as JSON with "Content-Type: application/json".'


def chunk_body_cap(settings: Settings) -> int:
    """What the chunk routes take: a chunk at the cap, and its multipart wrapping."""
    return settings.max_chunk_bytes + _MULTIPART_SLACK_BYTES


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _body_encoding(handler: BaseRouteHandler) -> RequestEncodingType | None:
    """The encoding the handler's ``data`` is parsed from; None when it takes no ``data``."""
    field = handler.parsed_data_field
    if field is None:
        return None
    kwarg = field.kwarg_definition
    if isinstance(kwarg, BodyKwarg):
        return RequestEncodingType(kwarg.media_type)
    return RequestEncodingType.JSON


def _nul_at(value: Any) -> str | None:
    """Where (``$.name``) a string in ``value`` holding a NUL is, if any. A loop, not a
    recursion: the parser lets through nesting deeper than Python's recursion limit allows here."""
    pending: list[tuple[Any, str]] = [(value, "$")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return where
        if isinstance(item, dict):
            pending.extend((key, f"{where} (a key)") for key in item)
            pending.extend((child, f"{where}.{key}") for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


async def check_request(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The guard; see the module's docstring."""
    if "\x00" in connection.scope["path"] or "\x00" in "".join(
        f"{key}{value}" for key, value in connection.query_params.multi_items()
    ):
        raise ClientException("the path or query holds a NUL (%00) character, which none takes")
    encoding = _body_encoding(handler)
    if encoding is None or not isinstance(connection, Request):
        return
    header = connection.headers.get("content-type")
    if encoding == RequestEncodingType.MULTI_PART:
        if header is None or _media_type(header) != "multipart/form-data":
            raise UnsupportedMediaType(
                "this route takes multipart/form-data, not "
                + (_media_type(header or "") or "a body without a type"),
                hint="Send the chunk as a form with a `file` part and a `chunk_number` field.",
            )
        return
    if encoding != RequestEncodingType.JSON:
        return
    if header is not None and not _is_json(_media_type(header)):
        raise UnsupportedMediaType(
            f"this route takes a JSON body, not {_media_type(header) or 'an empty type'}",
            hint=_JSON_HINT,
        )
    body = await connection.body()
    if not body.strip():
        raise ClientException("this route takes a JSON body, and the request has none")
    try:
        # checked here, not left to msgspec: 0.23 reports bad UTF-8 as a plain DecodeError
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientException(f"the JSON body is not UTF-8 ({exc.reason})") from None
    try:
        decoded = msgspec.json.decode(body)
    except RecursionError:
        raise ClientException("the JSON body is nested too deeply") from None
    except msgspec.DecodeError:
        return  # the handler's own parsing says what is malformed, and where
    found = _nul_at(decoded)
    if found:
        raise ClientException(
            f"the JSON string at {found} holds a NUL (\\u0000) character, which no field takes"
        )
