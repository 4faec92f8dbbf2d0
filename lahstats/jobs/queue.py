"""Enqueueing jobs: in-process (no Redis) or ARQ (Redis), behind one interface."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from arq.connections import ArqRedis
from arq.worker import Retry
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from lahstats.errors import NotFound, Unavailable
from lahstats.jobs.functions import JOBS, JobFunction

log = structlog.get_logger(__name__)

_HEALTH_CHECK_SUFFIX = ":health-check"


class JobQueue(Protocol):
    backend: str

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool:
        """Queues ``function(*args)``; False when job ``job_id`` is already queued or running.

        ``first``: ahead of every job queued without it (a session's end, which people wait
        for, before other sessions' chunk jobs, which only keep up with recording)."""
        ...

    async def ping(self) -> str:  # raises Unavailable
        ...

    async def close(self) -> None: ...


class InProcessQueue:
    """Runs jobs as asyncio tasks in this process, at most ``concurrency`` at a time.

    Keeps ARQ's contract, so job functions run the same on both: each run gets a copy of the
    context with ``job_id`` and ``job_try``; a job that raises ``arq.Retry`` runs again after its
    ``defer``, at most ``max_tries`` runs in all; a job id is taken until its job has finished.
    Jobs queued without ``first`` hold at most ``concurrency - 1`` slots (one at least), so a
    ``first`` job always has a slot free, or the next one to free up.
    """

    backend = "in-process"

    def __init__(
        self,
        context: dict[str, Any],
        *,
        concurrency: int = 2,
        max_tries: int = 5,
        functions: Mapping[str, JobFunction] = JOBS,
    ) -> None:
        self.context = context
        self.max_tries = max_tries
        self.functions = dict(functions)
        self._slots = asyncio.Semaphore(concurrency)
        self._later = asyncio.Semaphore(max(1, concurrency - 1))
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._counter = 0

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool:
        if function not in self.functions:
            raise NotFound(f"no job function {function!r}", hint="This is a bug in the caller.")
        self._counter += 1
        key = job_id or f"{function}:{self._counter}"
        if key in self._tasks:
            return False
        task = asyncio.create_task(
            self._run(key, self.functions[function], args, first=first), name=key
        )
        self._tasks[key] = task
        return True

    async def _run(
        self, key: str, function: JobFunction, args: tuple[Any, ...], *, first: bool
    ) -> Any:
        try:
            for job_try in range(1, self.max_tries + 1):
                # The slot is held while the job runs, not while it waits for its retry.
                async with contextlib.AsyncExitStack() as slots:
                    if not first:
                        await slots.enter_async_context(self._later)
                    await slots.enter_async_context(self._slots)
                    started = time.perf_counter()
                    try:
                        result = await function(
                            {**self.context, "job_id": key, "job_try": job_try}, *args
                        )
                    except Retry as retry:
                        if job_try >= self.max_tries:
                            raise
                        delay = (retry.defer_score or 0) / 1000
                    else:
                        seconds = round(time.perf_counter() - started, 3)
                        log.info("job finished", job=key, seconds=seconds, tries=job_try)
                        return result
                log.info("job will be retried", job=key, job_try=job_try, in_s=delay)
                await asyncio.sleep(delay)
        except Exception:
            log.exception("job failed", job=key)
            raise
        finally:
            self._tasks.pop(key, None)

    async def join(self) -> None:
        """Waits for every queued job (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def ping(self) -> str:
        return f"{len(self._tasks)} job(s) running or waiting"

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def redis_client(url: str) -> ArqRedis:
    """An ARQ client that connects lazily and fails fast: no start-up ping, short timeouts."""
    pool = ConnectionPool.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    return ArqRedis(pool_or_conn=pool)


class ArqQueue:
    backend = "arq"

    def __init__(self, url: str, *, queue_name: str) -> None:
        self.queue_name = queue_name
        self.redis = redis_client(url)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool:
        # ARQ takes jobs in the order of their score, the time they are due: a ``first`` job is
        # due an hour ago, ahead of everything queued since (within ARQ's day of expiry).
        due = datetime.now(UTC) - timedelta(hours=1) if first else None
        try:
            job = await self.redis.enqueue_job(
                function, *args, _job_id=job_id, _queue_name=self.queue_name, _defer_until=due
            )
        except (RedisError, OSError) as exc:
            raise Unavailable(
                "the job queue (Redis) is unreachable",
                hint="Nothing was lost; try again once Redis is back (see /health).",
            ) from exc
        return job is not None

    async def ping(self) -> str:
        try:
            async with asyncio.timeout(3):
                await self.redis.ping()
                beat = await self.redis.get(self.queue_name + _HEALTH_CHECK_SUFFIX)
        except (RedisError, OSError, TimeoutError) as exc:
            raise Unavailable(
                f"Redis unreachable: {type(exc).__name__}",
                hint="Start Redis or check LAHSTATS_REDIS_URL.",
            ) from exc
        return "worker seen" if beat else "no worker heartbeat yet"

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)
