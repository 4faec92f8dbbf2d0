"""The pipeline from async code: models loaded once per process, stages run off the event loop.

The stages are CPU-bound and synchronous; a job calls them through ``in_thread`` so the event loop
that also serves HTTP keeps answering. Models load and stages run on the pipeline's threads, at a
lower CPU priority (``runtime/threads.py``). Progress reported in the worker thread hops back to
the loop and reaches an async callback (which may write to the database), coalesced so a slow
callback never holds the stages back. This module never touches the database itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from lahstats.pipeline.types import ProgressHook
from lahstats.runtime.threads import on_pipeline_thread

if TYPE_CHECKING:
    from lahstats.pipeline.run import Models
    from lahstats.settings import Settings

T = TypeVar("T")
AsyncProgress = Callable[[str, int, int], Awaitable[None]]


class ModelCache:
    """Loads the configured models on first use, once, whatever the number of concurrent jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._models: Models | None = None
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._models is not None

    async def get(self) -> Models:
        async with self._lock:
            if self._models is None:
                from lahstats.pipeline.run import load_models

                self._models = await on_pipeline_thread(load_models, self.settings)
            return self._models


async def in_thread(work: Callable[[ProgressHook], T], on_progress: AsyncProgress) -> T:
    """Runs ``work(hook)`` in a worker thread; ``hook`` calls reach ``on_progress`` on this loop.

    While the callback is busy only each stage's latest report is kept, so a slow database never
    queues up reports, yet every stage reaches it, in order; the last report is always delivered
    before this returns, and a failing callback fails the call once the work is done.
    """
    loop = asyncio.get_running_loop()
    pending: dict[str, tuple[str, int, int]] = {}  # stage -> its latest report, stages in order
    ready = asyncio.Event()
    finished = False

    def post(report: tuple[str, int, int]) -> None:
        pending[report[0]] = report
        ready.set()

    def hook(stage: str, done: int, total: int) -> None:
        loop.call_soon_threadsafe(post, (stage, done, total))

    async def deliver() -> None:
        while True:
            await ready.wait()
            ready.clear()
            while pending:
                await on_progress(*pending.pop(next(iter(pending))))
            if finished and not pending:
                return

    courier = asyncio.create_task(deliver())
    try:
        return await on_pipeline_thread(work, hook)
    finally:
        # The thread's reports were queued on this loop before its result, so all have been posted.
        finished = True
        ready.set()
        await courier
