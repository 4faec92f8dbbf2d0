"""API fixtures: the real app served by uvicorn on a loopback port, with users.

The app runs in the test's own event loop (Litestar's test client runs it in a thread of its
own and blocks the test while a request is in flight, which hides exactly the concurrency that
event streams and background jobs have). ``api`` is the app with a queue that records what it is
asked to run instead of running the pipeline: the HTTP rules are tested here, the job in
tests/jobs and the whole flow in tests/e2e.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from lahstats.api.app import create_app
from lahstats.auth.tokens import create_token, user_id_for_email
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings
from lahstats.storage.migrations import upgrade
from tests.conftest import free_port

ClientFactory = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """Serves ``app`` with uvicorn on a free loopback port (lifespan included) for the block."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                await task  # raises what stopped the server from starting
                raise RuntimeError("uvicorn stopped before it started serving")
            await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def client_for() -> ClientFactory:
    """Serves an app built from the given settings and opens a client on it."""

    @asynccontextmanager
    async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        if settings.database_backend == "sqlite":
            await asyncio.to_thread(upgrade, settings.resolved_database_url)
        async with serving(create_app(settings)) as client:
            yield client

    return open_client


@dataclass
class RecordingQueue:
    """Takes jobs and runs none; remembers them, deduplicating ids like the real queues."""

    backend: str = "recording"
    jobs: list[tuple[str, tuple[Any, ...], str | None]] = field(default_factory=list)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool:
        if job_id is not None and any(queued == job_id for _, _, queued in self.jobs):
            return False
        self.jobs.append((function, args, job_id))
        return True

    async def ping(self) -> str:
        return f"{len(self.jobs)} job(s) recorded"

    async def close(self) -> None:
        return None


@dataclass
class User:
    name: str
    email: str
    id: uuid.UUID
    headers: dict[str, str]


class Api:
    """A client plus the ways tests make users and groups."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, runtime: Runtime) -> None:
        self.client = client
        self.settings = settings
        self.runtime = runtime

    @property
    def queue(self) -> RecordingQueue:
        assert isinstance(self.runtime.queue, RecordingQueue)
        return self.runtime.queue

    def user(self, name: str) -> User:
        email = f"{name.lower()}@example.com"
        token = create_token(self.settings, email=email, name=name)
        return User(name, email, user_id_for_email(email), {"Authorization": f"Bearer {token}"})

    async def group(self, owner: User, *members: User, name: str = "Kopi gang") -> dict[str, Any]:
        created = await self.client.post("/groups", json={"name": name}, headers=owner.headers)
        assert created.status_code == 201, created.text
        group: dict[str, Any] = created.json()
        for member in members:
            joined = await self.client.post(
                "/groups/join", json={"invite_code": group["invite_code"]}, headers=member.headers
            )
            assert joined.status_code == 200, joined.text
        return group

    async def session(self, user: User, group: dict[str, Any]) -> dict[str, Any]:
        started = await self.client.post(
            "/sessions/start", json={"group_id": group["id"]}, headers=user.headers
        )
        assert started.status_code == 201, started.text
        body: dict[str, Any] = started.json()
        return body


ApiFactory = Callable[[Settings], AbstractAsyncContextManager[Api]]


@pytest.fixture
def api_for() -> ApiFactory:
    @asynccontextmanager
    async def open_api(settings: Settings) -> AsyncIterator[Api]:
        await asyncio.to_thread(upgrade, settings.resolved_database_url)
        runtime = replace(Runtime.build(settings), queue=RecordingQueue())
        async with serving(create_app(settings, runtime=runtime)) as client:
            yield Api(client, settings, runtime)

    return open_api


@pytest.fixture
async def api(settings: Settings, api_for: ApiFactory) -> AsyncIterator[Api]:
    async with api_for(settings) as opened:
        yield opened
