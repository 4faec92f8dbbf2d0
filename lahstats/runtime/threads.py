"""The pipeline's threads: CPU-bound stages off the event loop, at a lower CPU priority.

Stages run on threads of their own at nice +10 (and so do the thread pools the model libraries
start from them): on a busy machine the API's requests win the cores, and processing takes what
is left. A ``lahstats worker`` process, where the API is elsewhere, asks for idle priority
instead. ``in_thread`` runs a stage there whose progress reaches an async callback (which may
write to the database), coalesced so a slow callback never holds the stage back. Ground floor:
the standard library only, so jobs and services (processing, live counts) all use it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
# a stage's ``on_progress(stage, done, total)`` (the pipeline's ``ProgressHook``), and the async
# callback its reports reach on the event loop
Hook = Callable[[str, int, int], None]
AsyncProgress = Callable[[str, int, int], Awaitable[None]]

# How much lower than the process the pipeline's threads run (Linux: niceness is per thread, and
# threads inherit it from the thread that starts them, so the libraries' pools get it too).
PIPELINE_NICENESS = 10
# "low": nice +10, where the pipeline shares a process (and so Python's GIL) with the API: a
# thread that holds the GIL must still get the CPU soon, or the API waits for it. "idle"
# (SCHED_IDLE: the CPU only when nothing else wants it): a ``lahstats worker`` process, where the
# API is elsewhere. Measured with ``make loadtest`` (docs/operations.md, Reliability).
_priority = ["low"]


def use_idle_priority() -> None:
    """For a process that only processes: its pipeline threads yield to every other program."""
    _priority[0] = "idle"


def _lower_priority() -> None:
    try:
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + PIPELINE_NICENESS))
        if _priority[0] == "idle":
            os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the usual priority
        pass


@functools.cache  # one per process, made on first use (from the event loop's thread)
def pipeline_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=64, thread_name_prefix="pipeline", initializer=_lower_priority
    )


async def on_pipeline_thread(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread`` on the low-priority pipeline threads (context variables kept)."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        pipeline_executor(), lambda: context.run(work, *args, **kwargs)
    )


async def in_thread(work: Callable[[Hook], T], on_progress: AsyncProgress) -> T:
    """Runs ``work(hook)`` on a pipeline thread; ``hook`` calls reach ``on_progress`` on this loop.

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
