"""Crash pick-up: sessions left in ``processing`` with no live job are queued again, and so are
the chunk jobs of sessions still recording whose chunk has no look after ``job_stale_seconds``.

A session is stale when its last sign of life (the job's heartbeat, or the end of recording for a
job that never started) is older than ``job_stale_seconds``. Every process that runs jobs sweeps
at start-up and every ``recovery_interval_seconds``; sweepers that find the same session agree on
the job id (see ``processing_job_id``), and the lease keeps two runs from both saving. This
module never processes anything itself and never changes a session.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from lahstats.jobs.queue import JobQueue
from lahstats.runtime.periodic import Periodic
from lahstats.sessions.work import enqueue_chunk, enqueue_processing, looks_at_chunks
from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.repositories import SessionRepository
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from lahstats.storage.types import utcnow

log = structlog.get_logger(__name__)


async def recover_stale(database: Database, queue: JobQueue, settings: Settings) -> list[uuid.UUID]:
    """Queues every stale processing session; returns those queued now (not already queued)."""
    before = utcnow() - timedelta(seconds=settings.job_stale_seconds)
    async with database.session() as db:
        stale = await SessionRepository(db).list_stale_processing_since(heartbeat_before=before)
    queued: list[uuid.UUID] = []
    for session_id, last_seen in stale.items():
        if await enqueue_processing(queue, session_id, recovering=last_seen):
            log.warning("stale session queued again", session=str(session_id), since=last_seen)
            queued.append(session_id)
    return queued


async def recover_lost_chunks(
    database: Database, queue: JobQueue, settings: Settings
) -> list[tuple[uuid.UUID, int]]:
    """Queues the chunk job again for every chunk of a recording session that still has no
    look ``job_stale_seconds`` after its upload, plus its own length (a whole recording
    uploaded as one file takes minutes to look at, well under its length: its job is not lost
    while it runs); returns those queued now. The job id is the chunk's own plus ``:again``,
    so one more job at most while it waits in a queue."""
    if not looks_at_chunks(settings):
        return []
    now = utcnow()
    before = now - timedelta(seconds=settings.job_stale_seconds)
    async with database.session() as db:
        waiting = await ChunkAnalysisRepository(db).not_looked_at(uploaded_before=before)
    lost = [
        chunk
        for chunk in waiting
        if chunk.created_at + timedelta(seconds=chunk.duration_seconds or 0.0) < before
    ]
    queued: list[tuple[uuid.UUID, int]] = []
    for chunk in lost:
        if await enqueue_chunk(
            queue, chunk.session_id, chunk.chunk_number, chunk.sha256, again=True
        ):
            log.warning(
                "lost chunk job queued again",
                session=str(chunk.session_id),
                chunk=chunk.chunk_number,
            )
            queued.append((chunk.session_id, chunk.chunk_number))
    return queued


class Sweeper:
    """Runs ``recover_stale`` at start-up and then every ``recovery_interval_seconds``."""

    def __init__(self, database: Database, queue: JobQueue, settings: Settings) -> None:
        self.database = database
        self.queue = queue
        self.settings = settings
        self._loop = Periodic(
            "stale-session-sweeper", self._sweep, settings.recovery_interval_seconds
        )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _sweep(self) -> bool:
        try:
            await recover_stale(self.database, self.queue, self.settings)
            await recover_lost_chunks(self.database, self.queue, self.settings)
        except Exception as exc:
            # The database or Redis is down: the next sweep tries again.
            log.warning("stale-session sweep failed", error=type(exc).__name__)
        return False
