"""Both queue backends run the same job functions; ARQ against the real Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from arq.jobs import Job
from arq.worker import Retry

from lahstats.errors import NotFound, Unavailable
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.queue import ArqQueue, InProcessQueue
from lahstats.jobs.worker import SupervisedWorker, build_worker, job_functions, worker_context
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database


@pytest.fixture
def resources(settings: Settings, tmp_path: Path) -> JobResources:
    return JobResources(
        settings=settings,
        database=Database(settings.resolved_database_url),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        worker_name="test-worker",
    )


async def test_in_process_queue_runs_jobs_and_refuses_a_duplicate_id(
    resources: JobResources,
) -> None:
    gate = asyncio.Event()
    seen: list[str] = []

    async def slow(ctx: dict[str, Any], label: str) -> str:
        assert ctx[RESOURCES_KEY] is resources
        await gate.wait()
        seen.append(label)
        return label

    queue = InProcessQueue(worker_context(resources), concurrency=1, functions={"slow": slow})
    assert await queue.enqueue("slow", "a", job_id="session:1")
    assert not await queue.enqueue("slow", "b", job_id="session:1")  # still queued: not twice
    assert "1 job" in await queue.ping()
    gate.set()
    await queue.join()
    assert seen == ["a"]
    assert await queue.enqueue("slow", "c", job_id="session:1")  # done, so it may run again
    await queue.join()
    assert seen == ["a", "c"]
    with pytest.raises(NotFound):
        await queue.enqueue("nope")
    await queue.close()


async def test_in_process_queue_retries_like_arq_with_job_try_and_defer(
    resources: JobResources,
) -> None:
    tries: list[tuple[int, str]] = []
    started: list[float] = []

    async def flaky(ctx: dict[str, Any], succeed_on: int) -> int:
        tries.append((ctx["job_try"], ctx["job_id"]))
        started.append(time.perf_counter())
        if ctx["job_try"] < succeed_on:
            raise Retry(defer=0.05)
        return int(ctx["job_try"])

    queue = InProcessQueue(worker_context(resources), max_tries=3, functions={"flaky": flaky})
    assert await queue.enqueue("flaky", 3, job_id="flaky:ok")
    await queue.join()
    assert tries == [(1, "flaky:ok"), (2, "flaky:ok"), (3, "flaky:ok")]
    assert started[1] - started[0] >= 0.05  # the defer was honoured
    assert "job_try" not in queue.context  # each run gets a copy

    tries.clear()
    assert await queue.enqueue("flaky", 99, job_id="flaky:never")
    assert not await queue.enqueue("flaky", 99, job_id="flaky:never")  # taken while retrying
    await queue.join()
    assert [job_try for job_try, _ in tries] == [1, 2, 3]  # then it gives up
    await queue.close()


def test_processing_keeps_no_result_and_decides_itself_when_to_give_up(
    settings: Settings,
) -> None:
    functions = {function.name: function for function in job_functions(settings)}
    processing = functions["process_session"]
    assert processing.keep_result_s == 0
    assert processing.max_tries is not None
    assert processing.max_tries > settings.job_max_tries
    assert functions["ping"].keep_result_s is None  # the worker's default


async def test_arq_job_is_run_by_a_worker_on_real_redis(
    redis_url: str, queue_name: str, resources: JobResources
) -> None:
    settings = resources.settings.model_copy(
        update={"redis_url": redis_url, "queue_name": queue_name}
    )
    queue = ArqQueue(redis_url, queue_name=queue_name)
    try:
        assert "no worker" in await queue.ping()
        assert await queue.enqueue("ping", job_id="ping:1")
        assert not await queue.enqueue("ping", job_id="ping:1")  # ARQ refuses a duplicate id
        worker = build_worker(settings, resources, handle_signals=False, burst=True)
        await worker.main()
        await worker.close()
        result = await Job("ping:1", queue.redis, _queue_name=queue_name).result(timeout=5)
        assert result["worker"] == "test-worker"
    finally:
        await queue.redis.delete("arq:result:ping:1")
        await queue.close()


async def test_in_process_queue_keeps_a_slot_for_jobs_queued_first(
    resources: JobResources,
) -> None:
    gates = {label: asyncio.Event() for label in ("c1", "c2", "c3", "end")}
    started: list[str] = []

    async def job(ctx: dict[str, Any], label: str) -> None:
        started.append(label)
        await gates[label].wait()

    queue = InProcessQueue(worker_context(resources), concurrency=2, functions={"job": job})
    for label in ("c1", "c2", "c3"):  # chunk jobs of other sessions, queued earlier
        await queue.enqueue("job", label)
    await queue.enqueue("job", "end", first=True)
    await asyncio.sleep(0.05)

    assert started == ["c1", "end"]  # the others hold one slot of two: the end job has the other
    for gate in gates.values():
        gate.set()
    await queue.join()
    assert sorted(started) == ["c1", "c2", "c3", "end"]
    await queue.close()


async def test_arq_runs_a_job_queued_first_before_those_queued_earlier(
    redis_url: str, queue_name: str, resources: JobResources
) -> None:
    settings = resources.settings.model_copy(
        update={"redis_url": redis_url, "queue_name": queue_name, "worker_concurrency": 1}
    )
    queue = ArqQueue(redis_url, queue_name=queue_name)
    ids = ["ping:early1", "ping:early2", "ping:first"]
    try:
        for job_id in ids:
            assert await queue.enqueue("ping", job_id=job_id, first=job_id == "ping:first")
        worker = build_worker(settings, resources, handle_signals=False, burst=True)
        await worker.main()
        await worker.close()
        finished = {
            job_id: (await Job(job_id, queue.redis, _queue_name=queue_name).result_info())
            for job_id in ids
        }
        order = sorted(ids, key=lambda job_id: finished[job_id].start_time)
        assert order[0] == "ping:first"
    finally:
        for job_id in ids:
            await queue.redis.delete(f"arq:result:{job_id}")
        await queue.close()


async def test_arq_queue_says_redis_is_down(dead_redis_url: str) -> None:
    queue = ArqQueue(dead_redis_url, queue_name="lahstats:test")
    with pytest.raises(Unavailable, match="Redis"):
        await queue.ping()
    with pytest.raises(Unavailable) as raised:
        await queue.enqueue("ping")
    assert "Nothing was lost" in raised.value.hint
    await queue.close()


async def test_supervised_worker_waits_out_a_redis_outage_and_stops_cleanly(
    dead_redis_url: str, resources: JobResources
) -> None:
    settings = resources.settings.model_copy(update={"redis_url": dead_redis_url})
    supervisor = SupervisedWorker(settings, resources)
    supervisor.start()
    await asyncio.sleep(0.5)
    assert supervisor._task is not None
    assert not supervisor._task.done()
    await asyncio.wait_for(supervisor.stop(), timeout=5)
    assert supervisor._task.done()
