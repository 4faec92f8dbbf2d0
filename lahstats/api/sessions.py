"""``/sessions``: start, list, read, end, follow and delete recording sessions."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from lahstats.api.deps import Caller, ProcessRuntime, Sessions
from lahstats.api.errors import error_responses
from lahstats.api.ratelimit import RATE_LIMITED_RESPONSE, rate_limit
from lahstats.api.schemas import QUERY_INT_MAX, SessionStart
from lahstats.runtime.ratelimit import Action
from lahstats.runtime.resources import Runtime
from lahstats.sessions.live import LiveCounts, follow_live
from lahstats.sessions.progress import Final, KeepAlive, follow
from lahstats.sessions.schemas import EndOut, ProgressOut, SessionOut, SessionsOut, StatusOut

_EVENT_ID = re.compile(r"[0-9]{1,15}")  # fewer digits than QUERY_INT_MAX: always within it


class SessionController(Controller):
    path = "/sessions"
    tags = ["sessions"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/start",
        summary="Start recording a session in one of your groups",
        guards=[rate_limit(Action.SESSION_START)],
        responses=error_responses(404, 413, 415) | RATE_LIMITED_RESPONSE,
    )
    async def start(
        self, data: JSONBody[SessionStart], caller: Caller, sessions: Sessions
    ) -> SessionOut:
        return await sessions.start(group_id=data.group_id, user_id=caller.user_id)

    @get(
        summary="Sessions of your groups (or of one), newest first",
        responses=error_responses(404),
    )
    async def list_sessions(
        self,
        caller: Caller,
        sessions: Sessions,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=QUERY_INT_MAX)] = 0,
        group_id: Annotated[
            uuid.UUID | None,
            QueryParameter(description="Only this group's sessions (404 unless you are a member)"),
        ] = None,
    ) -> SessionsOut:
        return await sessions.list(caller.user_id, group_id=group_id, limit=limit, offset=offset)

    @get("/{session_id:uuid}", summary="One session", responses=error_responses(404))
    async def get_session(
        self, session_id: FromPath[uuid.UUID], caller: Caller, sessions: Sessions
    ) -> SessionOut:
        return await sessions.get(session_id, caller.user_id)

    @delete(
        "/{session_id:uuid}",
        summary="Delete a session, its results and its audio",
        responses=error_responses(403, 404, 409),
    )
    async def delete_session(
        self,
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        sessions: Sessions,
        runtime: ProcessRuntime,
    ) -> None:
        await sessions.delete_with_audio(session_id, caller.user_id, runtime.blobs)

    @post(
        "/{session_id:uuid}/end",
        summary="End recording and start processing (ending twice queues one job)",
        status_code=202,
        responses=error_responses(404, 409),
    )
    async def end(
        self,
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        sessions: Sessions,
        runtime: ProcessRuntime,
    ) -> EndOut:
        return await sessions.end_and_queue(session_id, caller.user_id, runtime.queue)

    @get(
        "/{session_id:uuid}/status",
        summary="Processing status: stage, percent, error",
        responses=error_responses(404),
    )
    async def status(
        self, session_id: FromPath[uuid.UUID], caller: Caller, sessions: Sessions
    ) -> StatusOut:
        return await sessions.status(session_id, caller.user_id)

    @get(
        "/{session_id:uuid}/events",
        summary="Server-sent progress events until the session is processed or failed",
        description="Resumes after the `Last-Event-ID` header (or `after`). Browsers' "
        "EventSource cannot send headers: pass the token as `access_token` instead.",
        media_type="text/event-stream",
        responses=error_responses(404),
    )
    async def events(
        self,
        *,
        request: Request[Any, Any, Any],
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        sessions: Sessions,
        runtime: ProcessRuntime,
        after: Annotated[int, QueryParameter(ge=0, le=QUERY_INT_MAX)] = 0,
    ) -> ServerSentEvent:
        await sessions.visible(session_id, caller.user_id)
        resume = request.headers.get("last-event-id", "")
        # ASCII digits only, and few enough for the database: str.isdigit() takes "²".
        after_id = int(resume) if _EVENT_ID.fullmatch(resume) else after
        return ServerSentEvent(
            _event_stream(runtime, session_id, after_id),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @get(
        "/{session_id:uuid}/live",
        summary="Server-sent running word counts while the session is recording (provisional)",
        description="A `counts` event each time a chunk has been looked at: totals for the "
        "whole table and per provisional speaker (labels may change when the session ends), "
        "then a `status` event once the session stops recording. Pass the token as "
        "`access_token` from a browser's EventSource.",
        media_type="text/event-stream",
        responses=error_responses(404),
    )
    async def live(
        self,
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        sessions: Sessions,
        runtime: ProcessRuntime,
    ) -> ServerSentEvent:
        await sessions.visible(session_id, caller.user_id)
        return ServerSentEvent(
            _live_stream(runtime, session_id),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def _live_stream(
    runtime: Runtime, session_id: uuid.UUID
) -> AsyncIterator[ServerSentEventMessage]:
    keepalive = runtime.settings.events_keepalive_seconds
    async for item in follow_live(
        runtime.database, session_id, feeds=runtime.live, keepalive_seconds=keepalive
    ):
        if isinstance(item, LiveCounts):
            yield ServerSentEventMessage(event="counts", data=json.dumps(item.to_json()))
        elif isinstance(item, KeepAlive):
            yield ServerSentEventMessage(comment="keep-alive", data=None)
        else:
            status = "deleted" if item.status is None else item.status.status
            yield ServerSentEventMessage(event="status", data=json.dumps({"status": status}))


async def _event_stream(
    runtime: Runtime, session_id: uuid.UUID, after_id: int
) -> AsyncIterator[ServerSentEventMessage]:
    keepalive = runtime.settings.events_keepalive_seconds
    async for item in follow(
        runtime.database, session_id, after_id=after_id, keepalive_seconds=keepalive
    ):
        if isinstance(item, ProgressOut):
            yield ServerSentEventMessage(
                event="progress",
                id=item.id,
                data=json.dumps(
                    {
                        "stage": item.stage,
                        "progress": item.progress,
                        "message": item.message,
                        "at": item.at.isoformat(),
                    }
                ),
            )
        elif isinstance(item, KeepAlive):
            # data=None: Litestar's default "" would send an empty `data:` line, which browsers
            # dispatch as a message with no data.
            yield ServerSentEventMessage(comment="keep-alive", data=None)
        elif isinstance(item, Final):
            body: dict[str, Any] = (
                {"status": "deleted", "progress": 0, "stage": None, "error_message": None}
                if item.status is None
                else msgspec.structs.asdict(item.status)
            )
            yield ServerSentEventMessage(event="status", data=json.dumps(body))
