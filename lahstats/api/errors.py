"""The one mapping from errors to HTTP responses.

Every error body has the same shape, so clients can show ``message`` and act on ``hint``:
``{"status_code", "error", "message", "hint", "request_id", "details"?}``.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from lahstats import errors
from lahstats.api.schemas import ErrorOut
from lahstats.storage.database import is_missing_schema, is_unreachable

log = structlog.get_logger(__name__)

STATUS_BY_ERROR: dict[type[errors.LahstatsError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.UnsupportedMediaType: 415,
    errors.PayloadTooLarge: 413,
    errors.InvalidAudio: 422,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.ConfigurationError: 500,
}

_DATABASE_RETRY_AFTER_SECONDS = 5

_HINT_BY_STATUS = {
    400: "Fix the request body or parameters as described and send it again.",
    401: errors.Unauthorized.default_hint,
    403: errors.Forbidden.default_hint,
    404: "Check the URL; see /schema for the routes.",
    405: "Use one of the methods this route allows; see /schema.",
    413: errors.PayloadTooLarge.default_hint,
    415: errors.UnsupportedMediaType.default_hint,
}


# What each error status means on this API, for the OpenAPI document (``error_responses``).
_DESCRIPTIONS = {
    400: "Malformed or invalid body, path or query parameters; `details` names each problem",
    401: "Missing, malformed, expired or otherwise invalid bearer token; `message` says which",
    403: "Signed in, but your role in the group does not allow this",
    404: "No such object, or one of a group you do not belong to (the two look the same)",
    409: "The request clashes with the object's current state; `message` says how",
    413: "The body is over this route's size limit",
    415: "The body's content type is not one this route takes",
    422: "Well-formed, but the content is refused (e.g. not audio, a value out of range)",
    503: "A dependency (database, queue, storage) is down; try again shortly",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` of a signed-in route: 400, 401 and 503 (the database is down), which any of
    them can answer, and ``statuses``, each with the one error body (``ErrorOut``). Merge others
    in with ``|``."""
    return {
        status: ResponseSpec(
            data_container=ErrorOut, generate_examples=False, description=_DESCRIPTIONS[status]
        )
        for status in sorted({400, 401, 503, *statuses})
    }


def _code(name: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return snake.removesuffix("_exception")


def status_for(exc: errors.LahstatsError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return HTTP_500_INTERNAL_SERVER_ERROR


def _body(status: int, code: str, message: str, hint: str) -> dict[str, Any]:
    return {
        "status_code": status,
        "error": code,
        "message": message,
        "hint": hint,
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
    }


def domain_error_handler(
    request: Request[Any, Any, Any], exc: errors.LahstatsError
) -> Response[dict[str, Any]]:
    status = status_for(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.RateLimited) else None
    if status >= 500:
        log.error("request failed", error=type(exc).__name__, message=exc.message)
    return Response(
        _body(status, _code(type(exc).__name__), exc.message, exc.hint),
        status_code=status,
        headers=headers,
    )


def http_error_handler(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    status = exc.status_code
    message, hint = exc.detail, _HINT_BY_STATUS.get(status, "See the message for details.")
    if isinstance(exc, RequestEntityTooLarge):
        message, hint = _too_large(request)
    elif status == 405 and (allowed := (exc.headers or {}).get("allow")):
        message = f"{request.method} is not allowed here; this path takes {allowed}"
    elif isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        message = f"{message}: {_problems(exc.extra)}"
    body = _body(
        status,
        "validation_error" if isinstance(exc, ValidationException) else _code(type(exc).__name__),
        message,
        hint,
    )
    if exc.extra:
        body["details"] = exc.extra
    return Response(body, status_code=status, headers=exc.headers)


def _problems(extra: list[Any]) -> str:
    """Litestar's validation details in a line: ``name (body): Expected `str`, got `int```."""
    return "; ".join(
        f"{item.get('key')} ({getattr(item.get('source'), 'value', item.get('source'))}): "
        f"{item.get('message')}"
        if isinstance(item, dict)
        else str(item)
        for item in extra[:5]
    )


def _too_large(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """Litestar's "Request Entity Too Large", with the route's limit and what to send instead."""
    handler = request.scope.get("route_handler")
    limit = (
        handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
    )
    if not limit:
        return "the request body is too large", _HINT_BY_STATUS[413]
    message = f"the request body is over this route's limit of {limit} bytes"
    if limit < 1024 * 1024:
        return message, "Send the small JSON object this route takes (see /schema)."
    return message, _HINT_BY_STATUS[413]


def unexpected_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    if is_missing_schema(exc):
        # Reachable, but without the tables this code needs: not an outage, and no retry helps.
        log.error("request failed: database schema behind the code", error=type(exc).__name__)
        return Response(
            _body(
                503,
                "unavailable",
                "the database has not been migrated to this version of the server: a table or "
                "column it needs is missing",
                "The server's operator must run `lahstats db upgrade`; GET /health shows the "
                "database's revision and the one needed.",
            ),
            status_code=503,
        )
    if is_unreachable(exc):
        # The driver's own errors: a database down or restarting is an outage, not a bug.
        # The driver's own words ("database is locked", "connection refused"): never the SQL or
        # its parameters, which SQLAlchemy's message carries.
        log.error(
            "request failed: database unreachable",
            error=type(exc).__name__,
            detail=str(getattr(exc, "orig", None) or exc)[:200],
        )
        return Response(
            _body(
                503,
                "unavailable",
                f"the database is unreachable ({type(exc).__name__})",
                "Try again in a moment; GET /health shows when it is back.",
            ),
            status_code=503,
            headers={"Retry-After": str(_DATABASE_RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error", error=type(exc).__name__)
    return Response(
        _body(
            HTTP_500_INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server hit an unexpected error",
            "Try again; if it keeps failing, report the request_id.",
        ),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    errors.LahstatsError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
