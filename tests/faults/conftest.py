"""Fault fixtures: real processes and servers that a test may kill, stop and start again.

- ``WorkerProcess``: ``lahstats worker`` as a subprocess (SIGKILL-able), configured by environment
  like a deployment;
- ``PrivatePostgres``: a PostgreSQL cluster of the test's own (initdb in a temporary directory, a
  free port), so stopping it leaves the server other tests use alone;
- ``PrivateRedis``: a ``redis-server`` of the test's own on a free port, without persistence;
- ``open_api``: the app served on loopback (tests/api/conftest.py's ``serving``) with the real
  queue of its settings, with or without ARQ workers inside it, and the real models loaded once.

Waiting is polling with a deadline: the state being waited for lives in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf
from redis.asyncio import Redis

from lahstats.api.app import create_app
from lahstats.jobs.analysis import ModelCache
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.models import ProcessingEvent
from lahstats.storage.repositories import EventRepository
from tests.api.conftest import Api, User, serving
from tests.conftest import free_port

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "two_speakers.flac"
FINAL = {"ready_for_claiming", "completed", "failed"}


def clip_chunks() -> list[bytes]:
    """The 16.5 s two-voice fixture as two FLAC chunks (cut at 8 s), as a phone would send it."""
    samples, rate = sf.read(CLIP, dtype="float32")
    cut = 8 * rate
    chunks = []
    for part in (samples[:cut], samples[cut:]):
        out = io.BytesIO()
        sf.write(out, part, rate, format="FLAC")
        chunks.append(out.getvalue())
    return chunks


async def wait_for(
    what: str,
    check: Callable[[], Awaitable[Any]],
    *,
    within: float,
    every: float = 0.1,
    detail: Callable[[], str] = str,
) -> Any:
    """Polls ``check`` until it returns something truthy; fails saying ``what`` it waited for,
    and ``detail()`` (a process's log, say) as it is then."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {within:g} s waiting for {what}\n{detail()}")
        await asyncio.sleep(every)


# --- the app -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def real_models(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    """The embedded models, loaded once for every in-process fault test."""
    cache = ModelCache(Settings(env="test", data_dir=tmp_path_factory.mktemp("models")))
    await cache.get()
    return cache


@asynccontextmanager
async def open_api(
    settings: Settings, *, workers: bool, models: ModelCache | None = None
) -> AsyncIterator[Api]:
    """The app on ``settings``' own queue (ARQ with ``redis_url``, else in-process) and sweeper.

    ``workers``: run ARQ workers inside the app (the in-process queue always runs its jobs).
    ``models``: already loaded models for the jobs this process runs.
    """
    if settings.database_backend == "sqlite":
        await asyncio.to_thread(upgrade, settings.resolved_database_url)
    runtime = Runtime.build(settings)
    if not workers:
        runtime.worker = None
    if models is not None:
        runtime.resources.models = models
    async with serving(create_app(settings, runtime=runtime)) as client:
        yield Api(client, settings, runtime)


async def recorded_session(api: Api, owner: User, group: dict[str, Any]) -> str:
    """A session holding the fixture clip as two chunks, still recording."""
    sid: str = (await api.session(owner, group))["id"]
    for number, data in enumerate(clip_chunks()):
        put = await put_chunk(api, owner, sid, number, data)
        assert put.status_code == 201, put.text
    return sid


async def put_chunk(api: Api, owner: User, sid: str, number: int, data: bytes) -> httpx.Response:
    return await api.client.put(
        f"/sessions/{sid}/chunks/{number}",
        content=data,
        headers={**owner.headers, "Content-Type": "audio/flac"},
    )


async def end_session(api: Api, owner: User, sid: str) -> None:
    ended = await api.client.post(f"/sessions/{sid}/end", headers=owner.headers)
    assert ended.status_code == 202, ended.text
    assert ended.json()["status"] == "processing"


async def status_of(api: Api, owner: User, sid: str) -> dict[str, Any]:
    response = await api.client.get(f"/sessions/{sid}/status", headers=owner.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_until_processed(
    api: Api, owner: User, sid: str, *, within: float, detail: Callable[[], str] = str
) -> str:
    async def final() -> str | None:
        status: str = (await status_of(api, owner, sid))["status"]
        return status if status in FINAL else None

    found: str = await wait_for(
        f"session {sid} to be processed", final, within=within, detail=detail
    )
    return found


async def events_of(database: Database, sid: str) -> list[ProcessingEvent]:
    async with database.session() as db:
        return list(await EventRepository(db).list_after(uuid.UUID(sid)))


async def results_of(api: Api, owner: User, sid: str) -> dict[str, Any]:
    """What a client reads of a processed session: speakers with counts, and the transcript."""
    speakers = await api.client.get(f"/sessions/{sid}/speakers", headers=owner.headers)
    transcript = await api.client.get(f"/sessions/{sid}/transcript", headers=owner.headers)
    assert speakers.status_code == 200, speakers.text
    assert transcript.status_code == 200, transcript.text
    return {
        "speakers": {
            s["speaker_label"]: {
                "word_counts": s["word_counts"],
                "segments": s["segment_count"],
                "seconds": round(s["total_duration_seconds"], 1),
            }
            for s in speakers.json()["speakers"]
        },
        "transcript": [(t["speaker_label"], t["text"]) for t in transcript.json()["segments"]],
    }


def percents_never_go_back(events: list[ProcessingEvent]) -> bool:
    percents = [event.progress for event in events]
    return percents == sorted(percents)


# --- lahstats worker as a process ----------------------------------------------------------------


def process_env(settings: Settings) -> dict[str, str]:
    """The environment a deployment would give ``lahstats`` for these settings."""
    values: dict[str, object] = {
        "ENV": settings.env.value,
        "DATA_DIR": settings.data_dir,
        "DATABASE_URL": settings.resolved_database_url,
        "REDIS_URL": settings.redis_url or "",
        "QUEUE_NAME": settings.queue_name,
        "STORAGE_DIR": settings.resolved_storage_dir,
        "WORKER_CONCURRENCY": settings.worker_concurrency,
        "JOB_HEARTBEAT_SECONDS": settings.job_heartbeat_seconds,
        "JOB_STALE_SECONDS": settings.job_stale_seconds,
        "RECOVERY_INTERVAL_SECONDS": settings.recovery_interval_seconds,
        "LOG_JSON": "true",
    }
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAHSTATS_")}
    env.update({f"LAHSTATS_{name}": str(value) for name, value in values.items()})
    return env


class WorkerProcess:
    """``python -m lahstats worker`` with ``settings`` in its environment, logging to a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lahstats", "worker"],
                env=process_env(self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> int:
        """SIGKILL: no handler, no cleanup, the lease and the ARQ job left as they were."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Settings, str], WorkerProcess]]:
    """Starts worker processes; stops every one still running when the test ends."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"{name}.log")
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def forget_jobs(redis_url: str, queue_name: str, *session_ids: str) -> None:
    """Deletes the ARQ keys a test left on the shared Redis (a killed worker's job among them)."""
    client = Redis.from_url(redis_url)
    try:
        keys = [queue_name, f"{queue_name}:health-check"]
        for sid in session_ids:
            for job in ("process", "chunk"):
                keys += [key async for key in client.scan_iter(f"arq:*{job}:{sid}*")]
        await client.delete(*keys)
    finally:
        await client.aclose()


# --- a PostgreSQL cluster of the test's own ----------------------------------------------------


def _postgres_bin() -> Path | None:
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class PrivatePostgres:
    """A cluster in ``directory`` on ``port``; as root, run as the ``postgres`` OS user."""

    bin: Path
    directory: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin / tool), *args]
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.directory / "server.log"
            server = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {args[:1]} failed: {done.stderr or done.stdout}{server}")

    def init(self) -> None:
        data = str(self.directory / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.directory / "data"), str(self.directory / "server.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.directory / "data" / "postmaster.pid").exists()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh, running PostgreSQL cluster (no schema); stopped and deleted afterwards."""
    bindir = _postgres_bin()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (apt install postgresql)")
    as_root = os.geteuid() == 0
    if as_root and (shutil.which("runuser") is None or not _user_exists("postgres")):
        pytest.skip("initdb refuses root, and there is no postgres user (or runuser) to run it as")
    # initdb refuses to run as root: root runs it as the postgres user, who must own the dir.
    directory = Path(tempfile.mkdtemp(prefix="lahstats-pg-"))
    if as_root:
        shutil.chown(directory, user="postgres")
    cluster = PrivatePostgres(
        bindir, directory, free_port(), ["runuser", "-u", "postgres", "--"] if as_root else []
    )
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def migrate(settings: Settings) -> None:
    """``lahstats db upgrade``, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "lahstats", "db", "upgrade"],
        check=False,
        env=process_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


# --- a Redis server of the test's own ----------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on a free port, no persistence: stopping it loses every queued job."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        try:

            async def answers() -> bool:
                with contextlib.suppress(Exception):
                    return bool(await client.ping())
                return False

            await wait_for("the private Redis to answer", answers, within=10, every=0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            async with asyncio.timeout(10):
                await self.process.wait()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt install redis-server)")
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
