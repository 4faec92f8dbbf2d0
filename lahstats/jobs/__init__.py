"""Background jobs: a queue interface with two backends and the job functions.

Without Redis, ``InProcessQueue`` runs jobs as asyncio tasks inside the API process. With Redis,
``ArqQueue`` enqueues to ARQ, and workers run inside ``lahstats serve`` and in any number of
``lahstats worker`` processes. Job functions are thin adapters: they take the process's resources
out of the job's context, call a service (``sessions/processing.py``, ``sessions/looks.py``),
and turn how it ended into what the queue understands. State lives in the database, not in the
queue, so a job can run twice and leave the same rows.

    queue.py      the two backends (same contract: job ids, ``job_try``, ``arq.Retry``)
    worker.py     ARQ workers, in the API process and as ``lahstats worker``
    process.py    the session-processing job (``sessions/work.py`` names it and queues it)
    chunks.py     the chunk job: a chunk looked at as it arrives
    failures.py   retry or fail, and the message people see
    analysis.py   the models, loaded once per process
    recovery.py   sessions orphaned by a crash, queued again
"""
