"""API fixtures: the real app on a migrated SQLite database, driven in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from lahstats.api.app import create_app
from lahstats.settings import Settings
from lahstats.storage.migrations import upgrade

ClientFactory = Callable[[Settings], AbstractAsyncContextManager[AsyncTestClient]]  # type: ignore[type-arg]


@pytest.fixture
def client_for() -> ClientFactory:
    """Opens a test client on an app built from the given settings (lifespan included)."""

    @asynccontextmanager
    async def open_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
        if settings.database_backend == "sqlite":
            await asyncio.to_thread(upgrade, settings.resolved_database_url)
        async with AsyncTestClient(app=create_app(settings)) as client:
            yield client

    return open_client
