"""The models a process's jobs share: loaded once per process, on a job's first use.

Models load on the pipeline's threads, at a lower CPU priority (``runtime/threads.py``, where
``in_thread`` runs the stages off the event loop that also serves HTTP). This module never
touches the database.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lahstats.runtime.threads import on_pipeline_thread

if TYPE_CHECKING:
    from lahstats.pipeline.run import Models
    from lahstats.settings import Settings


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
