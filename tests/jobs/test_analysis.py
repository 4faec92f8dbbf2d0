"""Running the pipeline from async code: the loop stays free, progress arrives, models load once."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import structlog

from lahstats.jobs.analysis import ModelCache
from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.run import analyze
from lahstats.pipeline.types import ProgressHook
from lahstats.runtime.threads import PIPELINE_NICENESS, in_thread
from lahstats.settings import Settings

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "two_speakers.flac"


async def test_progress_is_coalesced_in_order_and_the_last_report_always_arrives() -> None:
    delivered: list[int] = []

    async def slow_writer(stage: str, done: int, total: int) -> None:
        await asyncio.sleep(0.005)
        delivered.append(done)

    def work(hook: ProgressHook) -> str:
        for done in range(1, 2001):
            hook("transcribe", done, 2000)
            if done % 100 == 0:
                time.sleep(0.002)
        return "ok"

    assert await in_thread(work, slow_writer) == "ok"
    assert delivered[-1] == 2000
    assert delivered == sorted(delivered)
    assert len(delivered) < 2000  # a slow writer sees the latest report, not every one


async def test_a_slow_writer_still_sees_every_stage_in_order() -> None:
    delivered: list[tuple[str, int]] = []

    async def slow_writer(stage: str, done: int, total: int) -> None:
        await asyncio.sleep(0.05)  # busier than the stages are long
        delivered.append((stage, done))

    def work(hook: ProgressHook) -> None:
        for stage in ("decode", "diarize", "transcribe", "correct"):
            for done in range(1, 4):
                hook(stage, done, 3)

    await in_thread(work, slow_writer)
    stages = [stage for stage, _ in delivered]
    assert list(dict.fromkeys(stages)) == ["decode", "diarize", "transcribe", "correct"]
    assert stages == sorted(stages, key=["decode", "diarize", "transcribe", "correct"].index)
    assert delivered[-1] == ("correct", 3)


async def test_a_failing_progress_callback_fails_the_call_after_the_work() -> None:
    finished: list[bool] = []

    async def broken(stage: str, done: int, total: int) -> None:
        raise RuntimeError("database down")

    def work(hook: ProgressHook) -> None:
        hook("decode", 1, 1)
        time.sleep(0.05)
        finished.append(True)

    with pytest.raises(RuntimeError, match="database down"):
        await in_thread(work, broken)
    assert finished == [True]


async def test_real_pipeline_runs_off_the_event_loop(tmp_path: Path) -> None:
    cache = ModelCache(Settings(env="test", data_dir=tmp_path / "var"))
    first, second = await asyncio.gather(cache.get(), cache.get())
    assert first is second
    assert cache.loaded

    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    percents: list[int] = []

    async def record(stage: str, done: int, total: int) -> None:
        percents.append(done)

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    analysis = await in_thread(
        lambda hook: analyze(first, decode_file(CLIP), on_progress=hook), record
    )
    took = time.perf_counter() - started
    stop.set()
    await ticking
    assert len(analysis.speakers) == 2
    assert percents[-1] == 100
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    # The loop kept turning while the models worked: no pause near the analysis' length. (A
    # blocked loop shows one gap as long as the analysis; on a machine busy with other work a
    # GIL-holding native call can stretch a tick past half a second, so the bound scales.)
    assert len(ticks) > 50
    assert max(gaps) < max(0.5, took / 4)


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_stages_run_at_a_lower_priority_than_the_api_and_keep_the_context() -> None:
    structlog.contextvars.bind_contextvars(job="j1")
    seen: dict[str, object] = {}

    def child() -> None:
        seen["child"] = _niceness()

    def work(hook: ProgressHook) -> None:
        seen["stage"] = _niceness()
        seen["job"] = structlog.contextvars.get_contextvars().get("job")
        started = threading.Thread(target=child)  # as a model library starts its pool
        started.start()
        started.join()

    async def ignore(stage: str, done: int, total: int) -> None:
        return None

    try:
        await in_thread(work, ignore)
    finally:
        structlog.contextvars.clear_contextvars()
    loop_niceness = _niceness()
    assert seen["stage"] == min(19, loop_niceness + PIPELINE_NICENESS)
    assert seen["child"] == seen["stage"]
    assert seen["job"] == "j1"
    assert _niceness() == loop_niceness  # the API's own threads are untouched
    assert await asyncio.to_thread(_niceness) == loop_niceness


def test_a_worker_process_runs_its_stages_at_idle_priority() -> None:
    # A fresh interpreter: the priority is the process's choice, made once by `lahstats worker`.
    code = (
        "import asyncio, os, threading\n"
        "from lahstats.runtime.threads import in_thread, use_idle_priority\n"
        "use_idle_priority()\n"
        "async def ignore(*_):\n"
        "    return None\n"
        "def work(hook):\n"
        "    return os.sched_getscheduler(threading.get_native_id())\n"
        "print(asyncio.run(in_thread(work, ignore)), os.sched_getscheduler(0))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == [str(os.SCHED_IDLE), str(os.SCHED_OTHER)]
