"""A processing run's lease on one session, kept alive by a heartbeat while the run goes on.

Only the holder of the lease writes progress and results (``processing.py``), so a duplicate job
or a crash pick-up never saves twice; a runner that stops beating (a crash, a killed worker)
loses the lease to the next runner after ``job_stale_seconds``. This module never touches
anything but the session row.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import structlog

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.repositories import SessionRepository
from lahstats.storage.types import utcnow

log = structlog.get_logger(__name__)


class Lease:
    def __init__(self, database: Database, session_id: uuid.UUID, settings: Settings) -> None:
        self.database = database
        self.session_id = session_id
        self.settings = settings
        self.token = uuid.uuid4().hex
        self.lost = False  # set by the heartbeat when another runner took the session over
        self._heartbeat: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        """Takes the lease unless the session is not processing or a live runner holds it."""
        stale_before = utcnow() - timedelta(seconds=self.settings.job_stale_seconds)
        async with self.database.session() as db:
            return await SessionRepository(db).acquire_lease(
                self.session_id, self.token, stale_before=stale_before
            )

    async def beat(self) -> bool:
        """Renews the lease now; False (and ``lost``) when it is no longer ours."""
        async with self.database.session() as db:
            held = await SessionRepository(db).beat(self.session_id, self.token)
        if not held:
            self.lost = True
        return held

    async def release(self) -> None:
        """Gives the lease up, so a retry or another worker may take the session at once."""
        await self.stop_heartbeat()
        async with self.database.session() as db:
            await SessionRepository(db).release_lease(self.session_id, self.token)

    def start_heartbeat(self) -> None:
        self._heartbeat = asyncio.create_task(
            self._beat_forever(), name=f"heartbeat:{self.session_id}"
        )

    async def stop_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.job_heartbeat_seconds)
            try:
                held = await self.beat()
            except Exception as exc:
                # A missed beat is not fatal: the lease goes stale only after several.
                log.warning(
                    "heartbeat failed", session=str(self.session_id), error=type(exc).__name__
                )
                continue
            if not held:
                log.warning("lease lost to another runner", session=str(self.session_id))
                return
