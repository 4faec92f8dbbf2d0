"""Job functions, registered with both queue backends under their function names.

Each takes the ARQ-style context dict first (``ctx[RESOURCES_KEY]`` holds ``JobResources``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from lahstats.jobs.chunks import analyze_chunk
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.sessions.work import ANALYZE_CHUNK, PROCESS_SESSION

JobFunction = Callable[..., Awaitable[Any]]


async def ping(ctx: dict[str, Any]) -> dict[str, str]:
    """Answers with the worker's name and clock: proves a worker consumes the queue."""
    resources: JobResources = ctx[RESOURCES_KEY]
    return {"worker": resources.worker_name, "at": datetime.now(UTC).isoformat()}


JOBS: dict[str, JobFunction] = {
    "ping": ping,
    PROCESS_SESSION: process_session,
    ANALYZE_CHUNK: analyze_chunk,
}
