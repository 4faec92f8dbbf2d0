"""What handlers are given: the request's unit of work, the caller, and the process's runtime.

``db`` is one database session per request that commits after the handler has built its response
(before it is sent) and rolls back if anything raised. ``caller`` is the authenticated user, whose
profile is created on their first request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.accounts.service import AccountService
from lahstats.auth.tokens import Identity
from lahstats.errors import Unauthorized
from lahstats.runtime.resources import Runtime


async def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    runtime: Runtime = state.runtime
    async with runtime.database.session() as session:
        yield session


async def provide_caller(request: Request[Any, Any, Any], db: DbSession) -> Identity:
    identity = request.scope.get("user")
    if not isinstance(identity, Identity):  # a route left out of the auth middleware by mistake
        raise Unauthorized("this route needs a signed-in user")
    try:
        await AccountService(db).ensure_profile(
            identity.user_id, email=identity.email, display_name=identity.name
        )
    except BaseException:
        # Litestar closes generator dependencies only once every dependency of a request is
        # resolved: raised from here, ``db`` would keep its connection until garbage collected.
        await db.close()
        raise
    return identity


DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Identity]
ProcessRuntime = NamedDependency[Runtime]

DEPENDENCIES = {
    "runtime": Provide(provide_runtime),
    "db": Provide(provide_db),
    "caller": Provide(provide_caller),
}
