"""A background loop of one process: a pass at start-up, then one every interval.

The stale-session sweep, chunk retention and the webhook dispatcher all run this way. A pass
handles (and logs) its own failures, so one bad pass never ends the loop; it returns True when
work is left over (a backlog), and the next pass then starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(self, name: str, run_pass: Callable[[], Awaitable[bool]], interval: float) -> None:
        self.name = name
        self.interval = interval
        self._run_pass = run_pass
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _forever(self) -> None:
        while True:
            if not await self._run_pass():
                await asyncio.sleep(self.interval)
