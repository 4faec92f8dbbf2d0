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
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from lahstats import errors

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

_HINT_BY_STATUS = {
    400: "Fix the request body or parameters as described and send it again.",
    401: errors.Unauthorized.default_hint,
    403: errors.Forbidden.default_hint,
    404: "Check the URL; see /schema for the routes.",
    405: "Use one of the methods this route allows; see /schema.",
    413: errors.PayloadTooLarge.default_hint,
    415: errors.UnsupportedMediaType.default_hint,
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
    body = _body(
        status,
        "validation_error" if isinstance(exc, ValidationException) else _code(type(exc).__name__),
        exc.detail,
        _HINT_BY_STATUS.get(status, "See the message for details."),
    )
    if exc.extra:
        body["details"] = exc.extra
    return Response(body, status_code=status, headers=exc.headers)


def unexpected_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
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
