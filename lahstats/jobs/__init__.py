"""Background jobs: a queue interface with two backends and the job functions.

Without Redis, ``InProcessQueue`` runs jobs as asyncio tasks inside the API process. With Redis,
``ArqQueue`` enqueues to ARQ, and workers run inside ``lahstats serve`` and in any number of
``lahstats worker`` processes. Job functions are thin: they load what they need from storage, call
the pipeline or a service, and persist through repositories. State lives in the database, not in
the queue, so a job can run twice and leave the same rows.

    queue.py      the two backends (same contract: job ids, ``job_try``, ``arq.Retry``)
    worker.py     ARQ workers, in the API process and as ``lahstats worker``
    process.py    the session-processing job and ``enqueue_processing``
    lease.py      one runner per session, kept alive by a heartbeat
    progress.py   progress as session rows and processing events
    results.py    an analysis as speaker, transcript and sample rows
    failures.py   retry or fail, and the message people see
    recovery.py   sessions orphaned by a crash, queued again
"""
