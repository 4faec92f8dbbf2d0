"""SQLite: a savepoint that reads and then writes waits for another writer instead of failing.

SQLite starts a deferred transaction at ``SAVEPOINT`` when none is open. A read inside it takes a
snapshot, and upgrading that to a write while another connection holds the write lock fails at
once with "database is locked": SQLite does not wait (its busy handler is skipped to avoid a
deadlock). The first request of a new user makes their profile in such a savepoint, so on the
embedded default it answered 503 whenever a session was saving its progress at that moment.
And releasing a savepoint that opened the transaction commits it, whatever follows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.accounts.service import AccountService
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.repositories import ProfileRepository

HOLD_SECONDS = 0.6


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lahstats.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    async with database.session() as session:
        await session.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT)"))
    try:
        yield database
    finally:
        await database.dispose()


async def _while_another_writer_holds_the_lock(
    database: Database, work: Callable[[AsyncSession], Awaitable[None]]
) -> float:
    """Runs ``work`` in its own unit of work while another one holds the write lock; its wait."""
    locked = asyncio.Event()

    async def writer() -> None:
        async with database.session() as session:
            await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('holder')"))
            locked.set()
            await asyncio.sleep(HOLD_SECONDS)

    async def waiter() -> float:
        await locked.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with database.session() as session:
            await work(session)
        return loop.time() - started

    _, waited = await asyncio.gather(writer(), waiter())
    return waited


async def test_a_savepoint_that_reads_then_writes_waits_for_the_lock(sqlite: Database) -> None:
    async def read_then_write(session: AsyncSession) -> None:
        async with session.begin_nested():
            await session.execute(sa.text("SELECT count(*) FROM scratch"))
            await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('waiter')"))

    waited = await _while_another_writer_holds_the_lock(sqlite, read_then_write)

    assert waited >= HOLD_SECONDS * 0.5  # it waited for the holder's commit rather than failing
    async with sqlite.session() as session:
        notes = (await session.execute(sa.text("SELECT note FROM scratch ORDER BY id"))).all()
    assert [note for (note,) in notes] == ["holder", "waiter"]


async def test_a_new_users_profile_is_made_while_another_request_writes(sqlite: Database) -> None:
    user_id = uuid.uuid4()

    async def first_request(session: AsyncSession) -> None:
        await AccountService(session).ensure_profile(
            user_id, email="fay@example.com", display_name="Fay"
        )

    await _while_another_writer_holds_the_lock(sqlite, first_request)

    async with sqlite.session() as session:
        profile = await ProfileRepository(session).get(user_id)
    assert profile is not None
    assert profile.display_name == "Fay"


async def test_savepoints_inside_a_written_transaction_still_roll_back_alone(
    sqlite: Database,
) -> None:
    """The lock is taken only where no transaction is open; nesting keeps its meaning."""
    async with sqlite.session() as session:
        await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('kept')"))
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('undone')"))
                raise RuntimeError("roll this savepoint back")
        async with session.begin_nested():
            await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('nested')"))
    async with sqlite.session() as session:
        notes = (await session.execute(sa.text("SELECT note FROM scratch ORDER BY id"))).all()
    assert [note for (note,) in notes] == ["kept", "nested"]


async def test_a_known_users_request_takes_no_write_lock(sqlite: Database) -> None:
    """Only a profile that changes is written: other requests do not queue behind a writer."""
    user_id = uuid.uuid4()
    async with sqlite.session() as session:
        await AccountService(session).ensure_profile(
            user_id, email="fay@example.com", display_name="Fay"
        )
    locked, seen = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with sqlite.session() as session:
            await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('holder')"))
            locked.set()
            # A request that queued behind this lock would never set ``seen`` before it is let go.
            await asyncio.wait_for(seen.wait(), timeout=3)

    async def known_user() -> None:
        await locked.wait()
        async with sqlite.session() as session:
            await AccountService(session).ensure_profile(
                user_id, email="fay@example.com", display_name="Fay"
            )
        seen.set()

    await asyncio.gather(writer(), known_user())


async def test_a_released_first_savepoint_rolls_back_with_its_unit_of_work(
    sqlite: Database,
) -> None:
    """Without an open transaction SQLite's RELEASE of the first savepoint would commit it."""
    with pytest.raises(RuntimeError):
        async with sqlite.session() as session:
            async with session.begin_nested():
                await session.execute(sa.text("INSERT INTO scratch (note) VALUES ('undone')"))
            raise RuntimeError("the request fails after its savepoint")
    async with sqlite.session() as session:
        count = (await session.execute(sa.text("SELECT count(*) FROM scratch"))).scalar_one()
    assert count == 0
