"""ARQ workers: inside the API process (supervised) and as ``lahstats worker``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func
from redis.exceptions import RedisError

from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.functions import JOBS
from lahstats.sessions.work import PROCESS_SESSION
from lahstats.settings import Settings

log = structlog.get_logger(__name__)

_RESTART_DELAYS = (1, 2, 5, 10, 30)


def build_worker(
    settings: Settings, resources: JobResources, *, handle_signals: bool, burst: bool = False
) -> Worker:
    assert settings.redis_url, "ARQ workers need LAHSTATS_REDIS_URL"
    return Worker(
        functions=job_functions(settings),
        queue_name=settings.queue_name,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        ctx={RESOURCES_KEY: resources},
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.job_timeout_seconds,
        keep_result=3600,
        handle_signals=handle_signals,
        burst=burst,
        health_check_interval=10,
    )


def job_functions(settings: Settings) -> list[Function]:
    """JOBS as ARQ functions, with the options that keep ARQ's pitfalls away from processing.

    ``process_session`` decides itself when to give up (``job_max_tries``), so ARQ's own limit
    sits above it; and it keeps no result, since a kept result (or a failed job's) would refuse
    the same job id for an hour: a session ended again must be able to queue at once.
    """
    options: dict[str, dict[str, Any]] = {
        PROCESS_SESSION: {"keep_result": 0, "max_tries": settings.job_max_tries + 1},
    }
    return [
        func(job, name=name, **options.get(name, {}))  # type: ignore[arg-type]
        for name, job in JOBS.items()
    ]


class SupervisedWorker:
    """An ARQ worker as a task of the API process that outlives Redis outages."""

    def __init__(self, settings: Settings, resources: JobResources) -> None:
        self.settings = settings
        self.resources = resources
        self._task: asyncio.Task[None] | None = None
        self._worker: Worker | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="arq-worker")

    async def _supervise(self) -> None:
        failures = 0
        while True:
            self._worker = build_worker(self.settings, self.resources, handle_signals=False)
            try:
                await self._worker.main()
            except (RedisError, OSError) as exc:
                delay = _RESTART_DELAYS[min(failures, len(_RESTART_DELAYS) - 1)]
                failures += 1
                log.warning("worker lost Redis; restarting", error=type(exc).__name__, in_s=delay)
            else:
                return
            finally:
                with contextlib.suppress(Exception):
                    await self._worker.close()
            await asyncio.sleep(delay)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


def worker_context(resources: JobResources) -> dict[str, Any]:
    return {RESOURCES_KEY: resources}
