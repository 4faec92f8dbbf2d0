"""Following a session's processing as it happens: its events, then its final status.

Polls the database (the job may run in another process, so the database is the one place both
sides share) and yields each processing event once, in order, then the session's status once it
is ``ready_for_claiming``, ``completed`` or ``failed``. Resumable: pass the last event id seen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from lahstats.sessions.schemas import ProgressOut, StatusOut, progress_out, status_out
from lahstats.storage.database import Database
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import EventRepository, SessionRepository

FINAL_STATUSES = frozenset(
    {SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED, SessionStatus.FAILED}
)
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
_PAGE = 500


@dataclass(frozen=True, slots=True)
class Final:
    """The session's state when following ends (``None``: it was deleted meanwhile)."""

    status: StatusOut | None


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Nothing new for a while: lets proxies and clients know the stream is alive."""


async def follow(
    database: Database,
    session_id: uuid.UUID,
    *,
    after_id: int = 0,
    poll_seconds: float = POLL_SECONDS,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[ProgressOut | KeepAlive | Final]:
    """Events newer than ``after_id``, then ``Final``. The caller checked access beforehand."""
    last_id = after_id
    quiet_since = time.monotonic()
    while True:
        async with database.session() as db:
            # Status first: events committed with a final status are then visible to the query
            # after it, so none is left behind when the stream ends.
            recording = await SessionRepository(db).get(session_id)
            events = await EventRepository(db).list_after(session_id, after_id=last_id, limit=_PAGE)
        for event in events:
            out = progress_out(event)
            last_id = out.id
            yield out
        if len(events) == _PAGE:
            continue  # more are waiting: send them before anything else
        if recording is None or recording.status in FINAL_STATUSES:
            yield Final(None if recording is None else status_out(recording))
            return
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= keepalive_seconds:
            quiet_since = time.monotonic()
            yield KeepAlive()
        await asyncio.sleep(poll_seconds)
