"""What handlers are given: the request's unit of work, the caller, the process's runtime, and
the services built on them.

``db`` is one database session per request that commits after the handler has built its response
(before it is sent) and rolls back if anything raised. ``caller`` is the authenticated user, whose
profile is created on their first request. Each service is given by name (``sessions``,
``groups``...) on the request's ``db``: a controller asks for the services it calls and never
builds one, commits or reaches a repository.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.accounts.service import AccountService
from lahstats.auth.tokens import Identity
from lahstats.errors import Unauthorized
from lahstats.groups.service import GroupService
from lahstats.runtime.resources import Runtime
from lahstats.sessions.export_view import ExportService
from lahstats.sessions.lifecycle import SessionService
from lahstats.sessions.uploads import ChunkUploads
from lahstats.sessions.work import looks_at_chunks
from lahstats.speakers.claims import ClaimService
from lahstats.speakers.enrolment import EnrolmentService
from lahstats.speakers.roster import RosterService
from lahstats.webhooks.registry import WebhookService
from lahstats.words.custom import CustomWordService
from lahstats.words.recount import RecountService
from lahstats.words.wrapped import WrappedService


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


def provide_uploads(db: DbSession, runtime: ProcessRuntime) -> ChunkUploads:
    settings = runtime.settings
    return ChunkUploads(
        db,
        runtime.blobs,
        max_bytes=settings.max_chunk_bytes,
        max_seconds=settings.max_chunk_seconds,
        max_session_seconds=settings.max_session_seconds,
        prober=runtime.prober,
        queue=runtime.queue,
        looks=looks_at_chunks(settings),
    )


def provide_enrolment(db: DbSession, runtime: ProcessRuntime) -> EnrolmentService:
    return EnrolmentService(db, runtime.settings)


def provide_roster(db: DbSession, runtime: ProcessRuntime) -> RosterService:
    return RosterService(db, runtime.settings)


Sessions = NamedDependency[SessionService]
Groups = NamedDependency[GroupService]
Accounts = NamedDependency[AccountService]
Claims = NamedDependency[ClaimService]
Enrolment = NamedDependency[EnrolmentService]
Roster = NamedDependency[RosterService]
Webhooks = NamedDependency[WebhookService]
CustomWords = NamedDependency[CustomWordService]
Recounts = NamedDependency[RecountService]
Uploads = NamedDependency[ChunkUploads]
Exports = NamedDependency[ExportService]
Wrapped = NamedDependency[WrappedService]

# services that need only the request's unit of work
_ON_DB: dict[str, Callable[[AsyncSession], object]] = {
    "sessions": SessionService,
    "groups": GroupService,
    "accounts": AccountService,
    "claims": ClaimService,
    "webhooks": WebhookService,
    "custom_words": CustomWordService,
    "recounts": RecountService,
    "wrapped": WrappedService,
    "exports": ExportService,
}


def _on_db(service: Callable[[AsyncSession], Any]) -> Provide:
    def provide(db: DbSession) -> Any:
        return service(db)

    return Provide(provide, sync_to_thread=False)


DEPENDENCIES = {
    "runtime": Provide(provide_runtime),
    "db": Provide(provide_db),
    "caller": Provide(provide_caller),
    "chunk_uploads": Provide(provide_uploads, sync_to_thread=False),
    "enrolment": Provide(provide_enrolment, sync_to_thread=False),
    "roster": Provide(provide_roster, sync_to_thread=False),
    **{name: _on_db(service) for name, service in _ON_DB.items()},
}
