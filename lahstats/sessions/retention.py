"""Retention: raw chunks are deleted ``chunk_retention_days`` after a session was processed.

What goes: every blob under a session's ``chunks/`` prefix (unreferenced blobs of a failed upload
included). What stays: the chunk rows (a record of the upload), speakers, their samples, counts
and transcript, until the session itself is deleted. A purged session cannot be processed again
(``SessionService.end`` refuses).

Blobs go first and ``chunks_purged_at`` is set after, so a run that dies half-way leaves the
session unmarked and the next run deletes again (deleting absent blobs is harmless): running twice
leaves the same state. Work is done in pages of ``batch_size`` sessions, each page its own short
transaction; no transaction is held open while blobs are deleted. This module never touches a
session that is recording or processing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore
from lahstats.storage.database import Database
from lahstats.storage.keys import session_prefix
from lahstats.storage.repositories.retention import ExpiredChunks, RetentionRepository
from lahstats.storage.types import utcnow

log = structlog.get_logger(__name__)

BATCH_SIZE = 100


def chunks_prefix(session_id: uuid.UUID) -> str:
    """Where ``keys.chunk_key`` puts a session's chunks (a test holds the two together)."""
    return f"{session_prefix(session_id)}chunks/"


@dataclass(frozen=True, slots=True)
class RetentionReport:
    cutoff: datetime  # sessions processed before this lost (or would lose) their chunks
    dry_run: bool
    sessions: tuple[ExpiredChunks, ...]  # as their chunk rows describe them
    blobs_deleted: int  # 0 in a dry run

    @property
    def chunks(self) -> int:
        return sum(found.chunks for found in self.sessions)

    @property
    def bytes(self) -> int:
        return sum(found.bytes for found in self.sessions)


async def purge_expired_chunks(
    database: Database,
    blobs: BlobStore,
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> RetentionReport:
    """Deletes the chunk blobs of every session processed over ``chunk_retention_days`` ago."""
    cutoff = (now or utcnow()) - timedelta(days=settings.chunk_retention_days)
    purged: list[ExpiredChunks] = []
    blobs_deleted = 0
    after: uuid.UUID | None = None
    while True:
        async with database.session() as db:
            page = await RetentionRepository(db).expired(
                processed_before=cutoff, after=after, limit=batch_size
            )
        if not page:
            break
        after = page[-1].session_id
        if not dry_run:
            for found in page:
                blobs_deleted += await blobs.delete_prefix(chunks_prefix(found.session_id))
            async with database.session() as db:
                await RetentionRepository(db).mark_purged([found.session_id for found in page])
        purged.extend(page)
        if len(page) < batch_size:
            break
    report = RetentionReport(cutoff, dry_run, tuple(purged), blobs_deleted)
    log.info(
        "chunk retention dry run" if dry_run else "chunk retention applied",
        sessions=len(purged),
        chunks=report.chunks,
        bytes=report.bytes,
        blobs_deleted=blobs_deleted,
        cutoff=cutoff.isoformat(),
    )
    return report
