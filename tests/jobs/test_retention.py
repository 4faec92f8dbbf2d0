"""The periodic purge: it runs at start and again every interval, and a failed run is logged and
retried, never raised (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from lahstats.errors import Unavailable
from lahstats.jobs import retention
from lahstats.jobs.retention import RetentionSweeper
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database
from lahstats.storage.models import RecordingSession, SessionStatus
from tests.sessions.stored import age, owner_and_group, stored_session


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app's structlog config caches a logger on first use, after which capture_logs() cannot
    # see it; another test in the same run may have used this module's logger already.
    monkeypatch.setattr(retention, "log", structlog.get_logger(retention.__name__))


class FlakyBlobs(LocalBlobStore):
    """Storage that is down for its first ``failures`` prefix deletions."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    async def delete_prefix(self, prefix: str) -> int:
        if self.failures:
            self.failures -= 1
            raise Unavailable("storage unreachable")
        return await super().delete_prefix(prefix)


class WatchedSweeper(RetentionSweeper):
    """Says when a round has succeeded."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.succeeded = asyncio.Event()

    async def run_once(self) -> bool:
        ok = await super().run_once()
        if ok:
            self.succeeded.set()
        return ok


async def purged(database: Database, session_id: uuid.UUID) -> bool:
    async with database.session() as db:
        recording = await db.get(RecordingSession, session_id)
        assert recording is not None
        return recording.chunks_purged_at is not None


async def test_the_sweeper_retries_a_failed_purge_on_its_next_round(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    blobs = FlakyBlobs(tmp_path / "blobs", failures=1)
    user, group = await owner_and_group(database)
    session_id = await stored_session(
        database, blobs, user_id=user, group_id=group, status=SessionStatus.COMPLETED
    )
    await age(database, session_id, days=31)
    sweeper = WatchedSweeper(
        database, blobs, settings.model_copy(update={"retention_interval_seconds": 0.05})
    )
    with capture_logs() as logs:
        sweeper.start()
        try:
            async with asyncio.timeout(20):
                await sweeper.succeeded.wait()
        finally:
            await sweeper.stop()
    assert await purged(database, session_id)
    failures = [log for log in logs if log["event"].startswith("chunk retention failed")]
    assert [log["error"] for log in failures] == ["storage unreachable"]
    assert blobs.failures == 0
    assert not (blobs.root / "sessions" / str(session_id) / "chunks").exists()


async def test_one_round_reports_failure_instead_of_raising(
    settings: Settings, tmp_path: Path
) -> None:
    dead = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'no-schema.db'}")
    try:
        sweeper = RetentionSweeper(dead, LocalBlobStore(tmp_path / "blobs"), settings)
        with capture_logs() as logs:
            assert await sweeper.run_once() is False
    finally:
        await dead.dispose()
    assert [log["error"] for log in logs] == ["OperationalError"]
