"""``make bench``: figures for the foundation. Later issues add the pipeline's stages.

Prints: app start-up time, ``/health`` latency percentiles served in-process, and repository write
throughput on SQLite (and PostgreSQL when LAHSTATS_BENCH_POSTGRES_URL is set, e.g.
postgresql+asyncpg://root@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from litestar.testing import AsyncTestClient

from lahstats.api.app import create_app
from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.repositories import (
    EventRepository,
    GroupRepository,
    ProfileRepository,
    SessionRepository,
)

HEALTH_REQUESTS = 300
EVENTS = 500


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:.2f} ms  p95 {cuts[94]:.2f} ms  p99 {cuts[98]:.2f} ms"


async def bench_health(root: Path) -> None:
    settings = Settings(env="test", data_dir=root / "var", log_level="warning")
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    started = time.perf_counter()
    async with AsyncTestClient(app=create_app(settings)) as client:
        startup_ms = (time.perf_counter() - started) * 1000
        print(f"app start-up (lifespan, model inspection): {startup_ms:.0f} ms")
        samples = []
        for _ in range(HEALTH_REQUESTS):
            t = time.perf_counter()
            response = await client.get("/health")
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
    print(f"GET /health x{HEALTH_REQUESTS} (in-process, SQLite): {_percentiles(samples)}")


async def bench_events(url: str, label: str) -> None:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.session() as s:
        owner = (await ProfileRepository(s).ensure(uuid.uuid4())).id
        group = await GroupRepository(s).create(
            name="bench", invite_code=uuid.uuid4().hex[:8], owner_id=owner
        )
        session_id = (await SessionRepository(s).create(group_id=group.id, started_by=owner)).id
    started = time.perf_counter()
    for n in range(EVENTS):
        async with db.session() as s:
            await EventRepository(s).append(session_id, stage="bench", progress=n % 101)
    seconds = time.perf_counter() - started
    print(f"progress events, one transaction each ({label}): {EVENTS / seconds:.0f}/s")
    async with db.session() as s:
        await SessionRepository(s).delete(session_id)
    await db.dispose()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        await bench_health(root)
        await bench_events(f"sqlite+aiosqlite:///{root / 'bench.db'}", "SQLite")
        if url := os.environ.get("LAHSTATS_BENCH_POSTGRES_URL"):
            await bench_events(url, "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
