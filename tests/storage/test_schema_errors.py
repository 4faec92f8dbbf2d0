"""A database without the tables the code needs is told apart from one that cannot be reached."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lahstats.jobs.failures import failure_message, is_transient
from lahstats.storage.database import Database, is_missing_schema, is_unreachable
from tests.conftest import free_port


async def _error_of(url: str, query: str) -> Exception:
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(sa.text(query))
    except Exception as exc:
        return exc
    finally:
        await database.dispose()
    raise AssertionError(f"{query!r} did not fail on {url}")


@pytest.mark.parametrize(
    "query",
    ["SELECT id FROM groups", "SELECT missing_column FROM (SELECT 1 AS a) AS t"],
    ids=["table", "column"],
)
async def test_a_missing_table_or_column_is_a_schema_behind_not_an_outage(
    empty_database_url: str, query: str
) -> None:
    error = await _error_of(empty_database_url, query)
    assert is_missing_schema(error)
    assert not is_unreachable(error)  # SQLite calls both OperationalError
    assert not is_transient(error)  # a job does not retry what only a migration fixes
    message = failure_message(error, stage="saving")
    assert "`lahstats db upgrade`" in message
    assert "unreachable" not in message


async def test_a_server_that_is_not_there_is_an_outage_not_a_schema_behind() -> None:
    error = await _error_of(f"postgresql+asyncpg://root@127.0.0.1:{free_port()}/none", "SELECT 1")
    assert is_unreachable(error)
    assert not is_missing_schema(error)
