"""The chunk job: each uploaded chunk looked at while the session is still being recorded.

A thin adapter: the work (the look, its edges, what is stored, when there is nothing to do) is
``sessions/looks.py``'s. The job asks the queue for no retry: whatever a chunk job leaves undone,
the session's end does (``sessions/processing.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.sessions.looks import look_at_chunk


async def analyze_chunk(ctx: dict[str, Any], session_id: str, number: int) -> dict[str, Any]:
    """Looks at chunk ``number`` and joins it to its looked-at neighbours (``look_at_chunk``)."""
    resources: JobResources = ctx[RESOURCES_KEY]
    return await look_at_chunk(
        resources.database,
        resources.blobs,
        resources.settings,
        resources.models,
        uuid.UUID(session_id),
        number=number,
    )
