"""Rate-limit guards for the routes that cost the service most (limits: ``runtime/ratelimit.py``).

A guard runs after authentication and before Litestar reads the body: a refused upload is never
read, stored or decoded. Over a limit the answer is 429 with ``Retry-After`` (``api/errors.py``).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.types import Guard

from lahstats.api.schemas import ErrorOut
from lahstats.auth.tokens import Identity
from lahstats.runtime.ratelimit import Action
from lahstats.runtime.resources import Runtime


def rate_limit(action: Action) -> Guard:
    """A guard that counts the caller's request against ``action``'s limit."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        identity = connection.scope.get("user")
        if not isinstance(identity, Identity):
            return  # not signed in: the `caller` dependency answers 401
        runtime: Runtime = connection.app.state.runtime
        await runtime.limiter.check(action, identity.user_id)

    return guard


RATE_LIMITED_RESPONSE: dict[int, ResponseSpec] = {
    429: ResponseSpec(
        data_container=ErrorOut,
        generate_examples=False,
        description="Over your rate limit; the Retry-After header says how many seconds to wait",
    )
}
