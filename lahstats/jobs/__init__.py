"""Background jobs: a queue interface with two backends and the job functions.

Without Redis, ``InProcessQueue`` runs jobs as asyncio tasks inside the API process. With Redis,
``ArqQueue`` enqueues to ARQ, and workers run inside ``lahstats serve`` and in any number of
``lahstats worker`` processes. Job functions are thin: they load what they need from storage, call
the pipeline or a service, and persist through repositories. State lives in the database, not in
the queue, so a job can run twice and leave the same rows.

    queue.py      the two backends (same contract: job ids, ``job_try``, ``arq.Retry``)
    worker.py     ARQ workers, in the API process and as ``lahstats worker``
    process.py    the session-processing job (``sessions/work.py`` names it and queues it)
    chunks.py     the chunk job: a chunk looked at as it arrives, and what ``end`` reuses
    lease.py      one runner per session, kept alive by a heartbeat
    progress.py   progress as session rows and processing events
    failures.py   retry or fail, and the message people see
    recovery.py   sessions orphaned by a crash, queued again
"""
