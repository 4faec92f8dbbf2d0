"""The work a session asks of the job queue: process it at its end, look at each chunk as it
arrives. The job names and ids live here, beside the services that ask for them; ``jobs`` runs
the functions registered under these names (``jobs/functions.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lahstats.settings import Settings

PROCESS_SESSION = "process_session"
ANALYZE_CHUNK = "analyze_chunk"


class Queue(Protocol):
    """What asking for work needs of a job queue (``jobs.queue.JobQueue`` is one)."""

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, first: bool = False
    ) -> bool: ...


def looks_at_chunks(settings: Settings) -> bool:
    """Whether sessions are processed chunk by chunk: on by setting, embedded diarizer only."""
    return settings.incremental and settings.diarizer == "embedded"


def processing_job_id(session_id: uuid.UUID, *, recovering: datetime | None = None) -> str:
    """``process:<id>``; a crash pick-up adds the stale heartbeat's time.

    Sweepers that see the same stale session agree on the id (one job), while the job key a
    crashed run left behind in ARQ cannot block the pick-up.
    """
    job_id = f"process:{session_id}"
    return job_id if recovering is None else f"{job_id}:{int(recovering.timestamp())}"


async def enqueue_processing(
    queue: Queue, session_id: uuid.UUID | str, *, recovering: datetime | None = None
) -> bool:
    """Queues the processing of a session; False when that job is already queued or running."""
    session = uuid.UUID(str(session_id))
    return await queue.enqueue(
        PROCESS_SESSION,
        str(session),
        job_id=processing_job_id(session, recovering=recovering),
        first=True,  # people wait for it; other sessions' chunk jobs do not hold it up
    )


def chunk_job_id(session_id: uuid.UUID, number: int, sha256: str, *, again: bool = False) -> str:
    """One job per chunk's bytes: a retried upload of the same bytes queues nothing more;
    ``again``: the sweep's one job more for a chunk whose job was lost."""
    return f"chunk:{session_id}:{number}:{sha256[:16]}" + (":again" if again else "")


async def enqueue_chunk(
    queue: Queue, session_id: uuid.UUID, number: int, sha256: str, *, again: bool = False
) -> bool:
    job_id = chunk_job_id(session_id, number, sha256, again=again)
    return await queue.enqueue(ANALYZE_CHUNK, str(session_id), number, job_id=job_id)
