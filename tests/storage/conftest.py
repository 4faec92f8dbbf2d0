"""Storage fixtures: a migrated database on SQLite and on PostgreSQL, emptied after each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.models import metadata


@pytest.fixture(scope="session")
async def migrated_postgres_url(postgres_url: str) -> str:
    await asyncio.to_thread(upgrade, postgres_url)
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'repo.db'}"
    return str(request.getfixturevalue("migrated_postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The same migrated schema on both backends the service supports."""
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    yield db
    async with db.session() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(delete(table))
    await db.dispose()
