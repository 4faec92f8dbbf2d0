"""The migrations build exactly the schema the models describe, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lahstats.storage.database import create_engine
from lahstats.storage.migrations import downgrade, head_revision, upgrade
from lahstats.storage.models import metadata


async def _differences_and_tables(url: str) -> tuple[list[object], set[str], str | None]:
    engine = create_engine(url)

    def inspect(connection: sa.Connection) -> tuple[list[object], set[str], str | None]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diffs = compare_metadata(context, metadata)
        return diffs, set(sa.inspect(connection).get_table_names()), context.get_current_revision()

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(inspect)
    finally:
        await engine.dispose()


async def test_migrated_postgres_schema_matches_models(postgres_url: str) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    diffs, tables, revision = await _differences_and_tables(postgres_url)
    assert diffs == []
    assert revision == head_revision()
    assert {t.name for t in metadata.sorted_tables} <= tables


async def test_migrations_run_up_and_down_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
    await asyncio.to_thread(upgrade, url)
    diffs, tables, revision = await _differences_and_tables(url)
    assert diffs == []
    assert revision == head_revision()
    assert "word_counts" in tables

    await asyncio.to_thread(downgrade, url, "base")
    _, tables, revision = await _differences_and_tables(url)
    assert revision is None
    assert tables == {"alembic_version"}
