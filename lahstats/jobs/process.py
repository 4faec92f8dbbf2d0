"""The session-processing job: ARQ's side of ``sessions/processing.py``, which does the work.

It takes the process's resources out of the job's context, runs the session's processing once,
and turns how that ended into what the queue understands. A transient failure (database,
storage, Redis) releases the lease and asks for another try with backoff until
``job_max_tries``; anything else, or the last try's failure, fails the session with a message for
the people who recorded (``failures.py``). The queue's timeout fails it too; a shutdown only
releases the lease, for the sweep or a retry to pick the session up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import structlog
from arq.worker import Retry

from lahstats.errors import LahstatsError
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.failures import (
    backoff_seconds,
    failure_message,
    gave_up_message,
    is_transient,
    timed_out_message,
)
from lahstats.sessions.processing import SessionProcessing

log = structlog.get_logger(__name__)


async def process_session(ctx: dict[str, Any], session_id: str) -> dict[str, Any]:
    """Processes one session (``SessionProcessing``); returns what it did or why it did not."""
    resources: JobResources = ctx[RESOURCES_KEY]
    settings = resources.settings
    job_try = int(ctx.get("job_try", 1))
    processing = SessionProcessing(
        resources.database,
        resources.blobs,
        settings,
        resources.models,
        uuid.UUID(session_id),
        job_try=job_try,
    )
    started = time.monotonic()
    try:
        return await processing.run()
    except asyncio.CancelledError:
        # Shutdown or the queue's timeout: never leave a live-looking lease behind.
        limit = settings.job_timeout_seconds
        if time.monotonic() - started >= 0.99 * limit:
            message = timed_out_message(limit, stage=processing.stage)
            await asyncio.shield(processing.fail(message))
        else:
            await asyncio.shield(processing.release())
        raise
    except Exception as exc:
        return await _after_failure(processing, exc, max_tries=settings.job_max_tries)


async def _after_failure(
    processing: SessionProcessing, exc: Exception, *, max_tries: int
) -> dict[str, Any]:
    """Another try for a transient failure while tries are left (``Retry``); else the session
    failed, with what to tell the people who recorded."""
    job_try, stage = processing.job_try, processing.stage
    bound = log.bind(session=str(processing.session_id), job_try=job_try)
    if is_transient(exc):
        if job_try < max_tries:
            delay = backoff_seconds(job_try)
            bound.warning(
                "processing will be retried", stage=stage, error=type(exc).__name__, in_s=delay
            )
            await processing.release()
            raise Retry(defer=delay) from exc
        message = gave_up_message(exc, tries=job_try)
    else:
        if not isinstance(exc, LahstatsError):
            bound.error("processing crashed", stage=stage, exc_info=exc)
        message = failure_message(exc, stage=stage)
    bound.warning("processing failed", stage=stage, error=type(exc).__name__)
    await processing.fail(message)
    return {"failed": message}
