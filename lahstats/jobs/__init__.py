"""Background jobs: a queue interface with two backends and the job functions.

Without Redis, ``InProcessQueue`` runs jobs as asyncio tasks inside the API process. With Redis,
``ArqQueue`` enqueues to ARQ, and workers run inside ``lahstats serve`` and in any number of
``lahstats worker`` processes. Job functions are thin: they load what they need from storage, call
the pipeline or a service, and persist through repositories. State lives in the database, not in
the queue, so a job can run twice and leave the same rows.
"""
