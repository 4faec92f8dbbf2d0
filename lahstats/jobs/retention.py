"""The periodic side of retention: ``purge_expired_chunks`` at start-up and then every
``retention_interval_seconds``, in every process that sweeps (see ``Runtime.start``).

Several processes may purge at once: the purge is idempotent, so the worst case is a blob deleted
twice. A failed run (database or storage down) is logged and tried again next time; it never
stops the loop or the process.
"""

from __future__ import annotations

import structlog

from lahstats.errors import LahstatsError
from lahstats.runtime.periodic import Periodic
from lahstats.sessions.retention import purge_expired_chunks
from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore
from lahstats.storage.database import Database

log = structlog.get_logger(__name__)


class RetentionSweeper:
    def __init__(self, database: Database, blobs: BlobStore, settings: Settings) -> None:
        self.database = database
        self.blobs = blobs
        self.settings = settings
        self._loop = Periodic("chunk-retention", self._purge, settings.retention_interval_seconds)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run_once(self) -> bool:
        """One purge; False (logged) when it failed."""
        try:
            await purge_expired_chunks(self.database, self.blobs, self.settings)
        except Exception as exc:
            # Only our own errors' messages are known to be free of secrets (URLs, keys).
            error = exc.message if isinstance(exc, LahstatsError) else type(exc).__name__
            log.warning("chunk retention failed; retrying next interval", error=error)
            return False
        return True

    async def _purge(self) -> bool:
        await self.run_once()
        return False
