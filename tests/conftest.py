"""Fixtures shared by every layer: settings isolated from the developer's environment, and the real
PostgreSQL and Redis servers of this machine.

PostgreSQL: a fresh database per test run (``lahstats_test_<random>``), dropped afterwards. Both
servers are required on CI (``CI=true``); elsewhere the tests that need them skip, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import delete

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.models import metadata

POSTGRES_ADMIN_URL = os.environ.get(
    "LAHSTATS_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LAHSTATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# ../shared/data beside the project (see its README): never copied into the project.
SHARED_DATA = Path(
    os.environ.get("LAHSTATS_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Every LAHSTATS_ variable of the developer's shell would leak into Settings(); tests set their own.
for _name in [name for name in os.environ if name.startswith("LAHSTATS_") and "_TEST_" not in name]:
    del os.environ[_name]


def unavailable(what: str, why: str) -> None:
    message = (
        f"{what} is not reachable ({why}); start it or set LAHSTATS_TEST_* (see docs/testing.md)"
    )
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL on a port nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read ./.env and default to ./var: keep both inside the test's own directory.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-mode settings in a temporary directory."""
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'test.db'}",
        log_json=True,
    )


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database as a SQLAlchemy asyncpg URL, dropped on exit."""
    name = f"lahstats_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", f"{type(exc).__name__}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"postgresql+asyncpg://{urlparse(POSTGRES_ADMIN_URL).netloc}/{name}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database for this test run, as a SQLAlchemy asyncpg URL."""
    async with scratch_database() as url:
        yield url


@pytest.fixture
async def empty_postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own with no tables, dropped afterwards."""
    async with scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables on each backend the service supports."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture(scope="session")
async def migrated_postgres_url(postgres_url: str) -> str:
    await asyncio.to_thread(upgrade, postgres_url)
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("migrated_postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The same migrated schema on both backends the service supports, emptied after the test."""
    if database_url.startswith("sqlite"):
        await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    yield db
    async with db.session() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(delete(table))
    await db.dispose()


@pytest.fixture(scope="session")
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except OSError as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # redis wraps socket errors in its own ConnectionError
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A queue of this test's own on the shared Redis."""
    return f"lahstats:test:{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared evaluation data; skips, saying why, when this checkout has none beside it."""
    if not (SHARED_DATA / "dev" / "index.json").is_file():
        pytest.skip(
            f"shared evaluation data not found at {SHARED_DATA} "
            "(put it beside the project or set LAHSTATS_TEST_DATA)"
        )
    return SHARED_DATA
