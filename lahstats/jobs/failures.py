"""Why a processing job failed, in two questions: is it worth another try, and what do we tell
the people who recorded?

Transient: a dependency that may come back (database, storage, Redis, the network). Everything else
fails the session at once. Messages say what went wrong and what to do; they never carry an
exception's text unless it is one of our own errors (which are written to be shown), so no SQL,
path or secret reaches a user.
"""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lahstats.errors import ConfigurationError, InvalidInput, LahstatsError, Unavailable
from lahstats.storage.database import is_missing_schema, is_unreachable

KEPT = "The uploaded chunks are kept."
RETRY_LATER = "The uploaded chunks are kept: end the session again later to retry."


def is_transient(exc: BaseException) -> bool:
    """True for failures of a dependency that another try, a little later, may not meet."""
    if isinstance(exc, Unavailable | RedisError | OSError | TimeoutError | PoolTimeout):
        return True
    return is_unreachable(exc)  # the database, asyncpg's unwrapped errors included


def backoff_seconds(job_try: int) -> int:
    """2, 4, 8, 16 ... seconds before try ``job_try + 1``, at most a minute."""
    return int(min(60, 2 ** max(1, job_try)))


def failure_message(exc: BaseException, *, stage: str) -> str:
    """The ``error_message`` of a session whose job failed for good with ``exc``."""
    if isinstance(exc, InvalidInput):
        return f"{_sentence(exc.message)} {_sentence(exc.hint)} {KEPT}"
    if isinstance(exc, ConfigurationError):
        return (
            f"the server cannot process recordings right now: {_sentence(exc.message)} "
            f"{_sentence(exc.hint)} {RETRY_LATER}"
        )
    if isinstance(exc, LahstatsError):
        return f"processing failed during {stage}: {_sentence(exc.message)} {RETRY_LATER}"
    if is_missing_schema(exc):
        return (
            "the server cannot process recordings right now: its database has not been migrated "
            f"to this version (run `lahstats db upgrade`). {RETRY_LATER}"
        )
    return (
        f"internal error during {stage} ({type(exc).__name__}); the uploaded chunks are kept: "
        "end the session again to retry, and report it with the session id if it fails again."
    )


def gave_up_message(exc: BaseException, *, tries: int) -> str:
    """The ``error_message`` after ``tries`` tries all met a transient failure."""
    return f"gave up after {tries} tries: {_dependency(exc)} ({type(exc).__name__}). {RETRY_LATER}"


def timed_out_message(limit: int, *, stage: str) -> str:
    """The ``error_message`` of a session whose job ran past the queue's limit of ``limit`` s."""
    return (
        f"processing took longer than the limit of {limit} s (during {stage}). "
        "The uploaded chunks are kept: end the session again to retry, or record "
        "shorter sessions."
    )


def _dependency(exc: BaseException) -> str:
    if isinstance(exc, Unavailable):
        return exc.message
    if isinstance(exc, RedisError):
        return "the job queue (Redis) was unreachable"
    if isinstance(exc, DBAPIError) or is_unreachable(exc):
        return "the database was unreachable"
    return "reading or writing storage kept failing"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
