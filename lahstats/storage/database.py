"""The async engine and the unit-of-work scope, for PostgreSQL (asyncpg) and SQLite (aiosqlite).

``Database.session()`` yields one ``AsyncSession`` that commits when the block ends and rolls back
when it raises. Only repositories issue queries through it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from lahstats.errors import Unavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite: without this no delete would cascade.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_write_lock_before_savepoint(connection: sa.Connection, _name: str) -> None:
    """Takes SQLite's write lock, waiting for it, when a savepoint would open the transaction.

    pysqlite opens a transaction only before a write, so a unit of work that has only read has
    none, and ``SAVEPOINT`` then opens a deferred one. A read in it takes a snapshot, and the
    write that follows cannot wait for another connection's lock: SQLite fails it at once with
    "database is locked" (it skips its busy handler there, to avoid a deadlock). ``BEGIN
    IMMEDIATE`` takes the lock first, waiting up to ``busy_timeout`` like any other write. It
    also keeps the savepoint nested: releasing one that opened the transaction would commit it,
    whatever the unit of work does after.
    """
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_write_lock_before_savepoint)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # survive a database restart without failing the next request
        pool_timeout=10,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


_UNREACHABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    ConnectionError,
    asyncpg.PostgresConnectionError,  # class 08: connection exceptions
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, "starting up"
)


# A table or column the code expects and the database lacks: PostgreSQL's SQLSTATEs, and SQLite's
# messages (it raises them as OperationalError, the class it also uses for a file it cannot open).
_UNDEFINED_OBJECT_STATES = frozenset({"42P01", "42703"})  # undefined_table, undefined_column
_SQLITE_UNDEFINED_OBJECT = ("no such table", "no such column", "has no column named")


def is_missing_schema(exc: BaseException) -> bool:
    """True when ``exc`` says the database lacks a table or column: its schema is behind."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _UNDEFINED_OBJECT_STATES:
        return True
    return isinstance(exc.orig, sqlite3.Error) and str(exc.orig).startswith(
        _SQLITE_UNDEFINED_OBJECT
    )


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database server is down, restarting or dropped the connection.

    asyncpg raises connection failures unwrapped (refused, "the database system is starting up"),
    SQLAlchemy wraps those of a connection in use: both count. A missing table is no outage,
    though SQLite calls it an OperationalError too (``is_missing_schema``).
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNREACHABLE) and not is_missing_schema(exc)


class Database:
    """Owns the engine; hands out sessions."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> float:
        """Round-trip ``SELECT 1``; returns milliseconds or raises ``Unavailable``."""
        started = time.perf_counter()
        try:
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise Unavailable(
                f"database unreachable: {type(exc).__name__}",
                hint="Check LAHSTATS_DATABASE_URL and that the database server is running.",
            ) from exc
        return (time.perf_counter() - started) * 1000

    async def dispose(self) -> None:
        await self.engine.dispose()
