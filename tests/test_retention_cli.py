"""``lahstats retention run [--dry-run]`` on a SQLite database and local storage: it lists what it
would delete, then deletes it, then finds nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lahstats.cli import main
from lahstats.settings import get_settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.models import SessionStatus
from tests.sessions.stored import age, owner_and_group, stored_session


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _sessions(var: Path) -> tuple[uuid.UUID, uuid.UUID]:
    database = Database(f"sqlite+aiosqlite:///{var / 'lahstats.db'}")
    blobs = LocalBlobStore(var / "storage")
    try:
        user, group = await owner_and_group(database)
        old, recent = [
            await stored_session(
                database, blobs, user_id=user, group_id=group, status=SessionStatus.COMPLETED
            )
            for _ in range(2)
        ]
        await age(database, old, days=31)
        return old, recent
    finally:
        await database.dispose()


def test_retention_run_lists_then_deletes_expired_chunks(tmp_path: Path) -> None:
    var = tmp_path / "var"
    upgrade(f"sqlite+aiosqlite:///{var / 'lahstats.db'}")
    old, recent = asyncio.run(_sessions(var))
    env = {"LAHSTATS_DATA_DIR": str(var)}
    runner = CliRunner()

    dry = runner.invoke(main, ["retention", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"{old}  2 chunk(s)" in dry.output
    assert str(recent) not in dry.output
    assert "would delete 2 chunk(s)" in dry.output
    assert "(30 days)" in dry.output
    assert (var / "storage" / "sessions" / str(old) / "chunks").is_dir()

    done = runner.invoke(main, ["retention", "run"], env=env)
    assert done.exit_code == 0, done.output
    assert "deleted 2 chunk(s)" in done.output
    assert "2 blob(s) removed" in done.output
    assert not (var / "storage" / "sessions" / str(old) / "chunks").exists()
    assert (var / "storage" / "sessions" / str(old) / "samples").is_dir()
    assert (var / "storage" / "sessions" / str(recent) / "chunks").is_dir()

    again = runner.invoke(main, ["retention", "run"], env=env)
    assert again.exit_code == 0, again.output
    assert "deleted 0 chunk(s), 0.0 kB, of 0 session(s)" in again.output


def test_retention_run_says_what_is_wrong_when_the_database_is_not_migrated(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        main, ["retention", "run"], env={"LAHSTATS_DATA_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 1
    assert "the database could not be read (OperationalError)" in result.output
    assert "lahstats db upgrade" in result.output
