"""A processing run's progress as rows: the session's stage and percent, and a processing event
per change (``progress.py`` follows them for clients).

Writes happen only when the stage or the percent changes, never go backwards, and only while the
run holds its lease (``lease.py``). A progress write is best-effort: a database hiccup costs one
report, never the run (the final save decides). This module never runs the pipeline.
"""

from __future__ import annotations

import uuid

import structlog

from lahstats.sessions.lease import Lease
from lahstats.storage.database import Database
from lahstats.storage.repositories import EventRepository, SessionRepository

log = structlog.get_logger(__name__)


class ProgressLog:
    def __init__(self, database: Database, lease: Lease, *, stage: str, percent: int) -> None:
        self.database = database
        self.lease = lease
        self.stage = stage
        self.percent = percent

    @property
    def session_id(self) -> uuid.UUID:
        return self.lease.session_id

    async def report(self, stage: str, percent: int, message: str | None = None) -> bool:
        """Records ``stage`` at ``percent`` (0-100) if either changed; False if nothing written."""
        percent = max(self.percent, min(100, percent))
        if (stage, percent) == (self.stage, self.percent):
            return False
        try:
            async with self.database.session() as db:
                written = await SessionRepository(db).record_progress(
                    self.session_id, stage=stage, progress=percent, token=self.lease.token
                )
                if written:
                    await EventRepository(db).append(
                        self.session_id, stage=stage, progress=percent, message=message
                    )
        except Exception as exc:
            log.warning(
                "progress not recorded",
                session=str(self.session_id),
                stage=stage,
                error=type(exc).__name__,
            )
            return False
        if not written:
            self.lease.lost = True
            return False
        self.stage, self.percent = stage, percent
        return True
