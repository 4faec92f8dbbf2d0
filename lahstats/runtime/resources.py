"""The resources one process holds: database, blob store, job queue, rate limits, workers and
model status.

Built from settings alone; the API lifespan starts and stops it, and so do the CLI commands that
need it. Which backends are used (SQLite or PostgreSQL, local or S3, in-process or ARQ) is decided
here and nowhere else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lahstats.jobs.context import JobResources
from lahstats.jobs.queue import ArqQueue, InProcessQueue, JobQueue
from lahstats.jobs.recovery import Sweeper
from lahstats.jobs.retention import RetentionSweeper
from lahstats.jobs.worker import SupervisedWorker, worker_context
from lahstats.pipeline.backends import ModelStatus, inspect_models, resolve_device
from lahstats.pipeline.prober import Prober
from lahstats.runtime.ratelimit import RateLimiter
from lahstats.sessions.live import LiveFeeds
from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore, create_blob_store
from lahstats.storage.database import Database
from lahstats.webhooks.dispatch import Dispatcher


@dataclass
class Runtime:
    settings: Settings
    database: Database
    blobs: BlobStore
    queue: JobQueue
    resources: JobResources
    limiter: RateLimiter
    worker: SupervisedWorker | None = None
    sweeper: Sweeper | None = None
    retention: RetentionSweeper | None = None
    dispatcher: Dispatcher | None = None
    device: str = "cpu"
    models: list[ModelStatus] = field(default_factory=list)
    # Reads uploads' headers in warm processes (see pipeline/prober.py)
    prober: Prober = field(default_factory=Prober)
    # The sessions followed live here: one feed each, shared by everyone following it
    live: LiveFeeds = field(default_factory=LiveFeeds)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        database = Database(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
        )
        blobs = create_blob_store(settings)
        resources = JobResources(settings=settings, database=database, blobs=blobs)
        queue: JobQueue
        worker: SupervisedWorker | None = None
        if settings.redis_url:
            queue = ArqQueue(settings.redis_url, queue_name=settings.queue_name)
            worker = SupervisedWorker(settings, resources)
        else:
            # One try more than the job allows itself, so the job decides when to give up.
            queue = InProcessQueue(
                worker_context(resources),
                concurrency=settings.worker_concurrency,
                max_tries=settings.job_max_tries + 1,
            )
        return cls(
            settings=settings,
            database=database,
            blobs=blobs,
            queue=queue,
            resources=resources,
            limiter=RateLimiter.from_settings(settings),
            worker=worker,
        )

    async def start(self, *, with_worker: bool = True, with_sweeper: bool = True) -> None:
        """``with_worker``: run ARQ workers in this process (``lahstats worker`` runs its own).

        ``with_sweeper``: queue sessions orphaned by a crash again (see ``jobs/recovery.py``),
        and delete expired chunks now and then (``jobs/retention.py``).
        """
        # Both look at the disk and may import torch: keep them off the event loop.
        self.models = await asyncio.to_thread(inspect_models, self.settings)
        self.device = await asyncio.to_thread(resolve_device, self.settings.device)
        if self.worker is not None and with_worker:
            self.worker.start()
        if with_sweeper and self.sweeper is None:
            # Built here, not in build(): it must feed the queue this runtime ends up with.
            self.sweeper = Sweeper(self.database, self.queue, self.settings)
            self.sweeper.start()
        if with_sweeper and self.retention is None:
            self.retention = RetentionSweeper(self.database, self.blobs, self.settings)
            self.retention.start()
        if with_sweeper and self.dispatcher is None:
            # Sends due webhook deliveries (``webhooks/dispatch.py``); every process may run one.
            self.dispatcher = Dispatcher(self.database, self.settings)
            self.dispatcher.start()

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            self.dispatcher = None
        if self.sweeper is not None:
            await self.sweeper.stop()
            self.sweeper = None
        if self.retention is not None:
            await self.retention.stop()
            self.retention = None
        if self.worker is not None:
            await self.worker.stop()
        await self.queue.close()
        await self.limiter.close()
        await self.prober.close()
        await self.blobs.close()
        await self.database.dispose()
