"""``make loadtest``: the service under 100 concurrent clients, with figures per route.

Starts ``lahstats serve`` on PostgreSQL + Redis (a fresh database, dropped afterwards; Redis db 13,
flushed before and after) as a child process, then drives it from this process over loopback:

- every client is one user with a recording session of their own in a shared group; each polls
  its session's status every ``--poll-every`` s, lists the speakers of a processed session every
  ``--speakers-every`` s and uploads a 30 s AAC chunk (what phones send) every ``--chunk-every`` s,
  alternating the multipart and the raw-body upload routes;
- meanwhile one more user keeps the pipeline busy: a session of ``--job-chunks`` chunks is ended,
  processed by the real embedded models, and the next one started, for the whole run.

Each client has a connection of its own and runs its requests one at a time on a fixed schedule
with a random phase. Latency is measured from the time a request was due, not from when it was
sent, so a stalled server cannot hide its stall by slowing the clients down (no coordinated
omission). The first ``--warmup`` seconds of load are left out of the figures.

``--worker``: ``inprocess`` (the ARQ worker inside ``lahstats serve``, its default), ``separate``
(``LAHSTATS_SERVE_WORKERS=false`` and one ``lahstats worker`` process) or ``none`` (no
processing: the API alone); ``all`` (the default) runs ``none``, ``inprocess`` and ``separate``
one after another, about 8 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import httpx
from redis import Redis

from lahstats.auth.tokens import create_token
from lahstats.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "audio" / "two_speakers.flac"
POSTGRES_ADMIN_URL = os.environ.get(
    "LAHSTATS_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LAHSTATS_LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TARGETS_MS = {"status": 50.0, "speakers": 50.0, "upload": 150.0}
TERMINAL = {"ready_for_claiming", "completed", "failed"}


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    jobs_done: int = 0
    jobs_failed: int = 0
    job_seconds: list[float] = field(default_factory=list)

    def add(self, route: str, ms: float, response: httpx.Response | None, why: str = "") -> None:
        self.latencies[route].append(ms)
        if response is None or response.status_code >= 400:
            code = "no answer" if response is None else str(response.status_code)
            self.errors[route].append(f"{code} {why}".strip())


def percentile(samples: list[float], p: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[int(p * 10) - 1]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_chunk(folder: Path) -> bytes:
    """30 s of the project's two-voice fixture (looped) as AAC in MP4, like a phone's chunk."""
    out = folder / "chunk.m4a"
    subprocess.run(
        [
            *("ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "1", "-i", str(FIXTURE)),
            *("-t", "30", "-ac", "1", "-c:a", "aac", "-b:a", "64k", str(out)),
        ],
        check=True,
    )
    return out.read_bytes()


class Database:
    """A fresh PostgreSQL database for one run, dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"lahstats_load_{uuid.uuid4().hex[:10]}"
        netloc = urlparse(POSTGRES_ADMIN_URL).netloc
        self.url = f"postgresql+asyncpg://{netloc}/{self.name}"

    async def __aenter__(self) -> Database:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        env = {**os.environ, "LAHSTATS_DATABASE_URL": self.url}
        upgrade = [sys.executable, "-m", "lahstats", "db", "upgrade"]
        await asyncio.to_thread(subprocess.run, upgrade, env=env, check=True)
        return self

    async def __aexit__(self, *_: object) -> None:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (ffprobe runs), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def service(mode: str, db_url: str, storage: Path, port: int, secret: str) -> Iterator[list[int]]:
    """``lahstats serve`` (and a ``lahstats worker``) as children; yields their pids."""
    env = {
        **os.environ,
        "LAHSTATS_ENV": "production",
        "LAHSTATS_JWT_SECRET": secret,
        "LAHSTATS_DATABASE_URL": db_url,
        "LAHSTATS_REDIS_URL": REDIS_URL,
        "LAHSTATS_QUEUE_NAME": f"lahstats:load:{uuid.uuid4().hex[:8]}",
        "LAHSTATS_STORAGE_DIR": str(storage),
        "LAHSTATS_DATA_DIR": str(storage.parent),
        "LAHSTATS_LOG_LEVEL": "info",
        # The load is 100 users: the per-user limits are not what is measured here.
        "LAHSTATS_RATE_LIMIT_UPLOADS": "off",
        "LAHSTATS_RATE_LIMIT_SESSION_STARTS": "off",
        "LAHSTATS_SERVE_WORKERS": "true" if mode == "inprocess" else "false",
        "PYTHONUNBUFFERED": "1",
    }
    logs = storage.parent / "logs"
    logs.mkdir(exist_ok=True)
    commands = [[sys.executable, "-m", "lahstats", "serve", "--port", str(port)]]
    if mode == "separate":
        commands.append([sys.executable, "-m", "lahstats", "worker"])
    children = []
    for n, command in enumerate(commands):
        with (logs / f"{command[3]}{n}.log").open("wb") as log:
            children.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    try:
        yield [child.pid for child in children]
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


async def wait_healthy(client: httpx.AsyncClient, deadline: float, logs: Path) -> None:
    while time.monotonic() < deadline:
        try:
            if (await client.get("/health")).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    tail = (logs / "serve0.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the server did not answer /health in time; its log ends:\n{tail}")


class Load:
    def __init__(self, args: argparse.Namespace, client: httpx.AsyncClient, secret: str) -> None:
        self.args = args
        self.client = client
        self.settings = Settings(env="production", jwt_secret=secret)
        self.figures = Figures()
        self.chunk = b""
        self.measure_from = 0.0

    def headers(self, email: str) -> dict[str, str]:
        token = create_token(self.settings, email=email, name=email.split("@", maxsplit=1)[0])
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, url: str, headers: dict[str, str], **kw: object) -> dict:
        response = await self.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
        return response.json() if response.content else {}

    async def record_and_end(self, owner: dict[str, str], group: str, chunks: int) -> str:
        session = await self.call("POST", "/sessions/start", owner, json={"group_id": group})
        sid = session["id"]
        for n in range(chunks):
            await self.call(
                "PUT",
                f"/sessions/{sid}/chunks/{n}",
                {**owner, "Content-Type": "audio/mp4"},
                content=self.chunk,
            )
        await self.call("POST", f"/sessions/{sid}/end", owner)
        return sid

    async def wait_done(self, owner: dict[str, str], sid: str, until: float) -> str:
        while time.monotonic() < until:
            status = (await self.call("GET", f"/sessions/{sid}/status", owner))["status"]
            if status in TERMINAL:
                return str(status)
            await asyncio.sleep(0.5)
        return "processing"

    async def processor(self, owner: dict[str, str], group: str, stop: float) -> None:
        """Keeps one session in processing for the whole run."""
        while time.monotonic() < stop:
            started = time.monotonic()
            sid = await self.record_and_end(owner, group, self.args.job_chunks)
            status = await self.wait_done(owner, sid, stop + 600)
            if status == "failed":
                self.figures.jobs_failed += 1
            else:
                self.figures.jobs_done += 1
                self.figures.job_seconds.append(time.monotonic() - started)

    async def user(
        self, n: int, headers: dict[str, str], session: str, listed: str, stop: float
    ) -> None:
        # Each client is a phone: one connection of its own, kept alive between requests.
        async with httpx.AsyncClient(
            base_url=self.client.base_url,
            limits=httpx.Limits(max_connections=1, keepalive_expiry=30),
            timeout=httpx.Timeout(60),
        ) as client:
            await self._user(client, n, headers=headers, session=session, listed=listed, stop=stop)

    async def _user(
        self,
        client: httpx.AsyncClient,
        n: int,
        *,
        headers: dict[str, str],
        session: str,
        listed: str,
        stop: float,
    ) -> None:
        rng = random.Random(n)  # noqa: S311 - a schedule's phases, not secrets
        now = time.monotonic()
        every = {
            "status": self.args.poll_every,
            "speakers": self.args.speakers_every,
            "upload": self.args.chunk_every,
        }
        due = {route: now + rng.uniform(0, period) for route, period in every.items()}
        chunk_number = 0
        while True:
            route = min(due, key=due.__getitem__)
            when = due[route]
            if when >= stop:
                return
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            response: httpx.Response | None = None
            why = ""
            try:
                if route == "status":
                    response = await client.get(f"/sessions/{session}/status", headers=headers)
                elif route == "speakers":
                    response = await client.get(f"/sessions/{listed}/speakers", headers=headers)
                elif chunk_number % 2 == 0:
                    response = await client.post(
                        f"/sessions/{session}/upload",
                        headers=headers,
                        files={"file": ("chunk.m4a", self.chunk, "audio/mp4")},
                        data={"chunk_number": str(chunk_number)},
                    )
                else:
                    response = await client.put(
                        f"/sessions/{session}/chunks/{chunk_number}",
                        headers={**headers, "Content-Type": "audio/mp4"},
                        content=self.chunk,
                    )
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            finished = time.monotonic()
            if response is not None and response.status_code >= 400:
                why = response.text[:120]
            if when >= self.measure_from:
                self.figures.add(route, (finished - when) * 1000, response, why)
            if route == "upload":
                chunk_number += 1
            due[route] = when + every[route]

    async def run(self, chunk: bytes, pids: list[int]) -> None:
        self.chunk = chunk
        owner = self.headers("owner@load.test")
        group = await self.call("POST", "/groups", owner, json={"name": "load"})
        users = [self.headers(f"user{n}@load.test") for n in range(self.args.clients)]
        sessions = []
        for headers in users:
            await self.call(
                "POST", "/groups/join", headers, json={"invite_code": group["invite_code"]}
            )
            sessions.append(
                (
                    await self.call(
                        "POST", "/sessions/start", headers, json={"group_id": group["id"]}
                    )
                )["id"]
            )
        print("  warming up: one session processed first (loads the models)", flush=True)
        started = time.monotonic()
        if self.args.worker == "none":
            # Nothing processes: the speakers route lists a session that is still recording.
            listed = sessions[0]
        else:
            listed = await self.record_and_end(owner, group["id"], 1)
            status = await self.wait_done(owner, listed, time.monotonic() + 600)
            if status != "ready_for_claiming":
                raise RuntimeError(f"the warm-up session ended {status}")
        print(f"  warm-up took {time.monotonic() - started:.1f} s", flush=True)
        pids = [*pids, os.getpid()]
        # The load runs --warmup seconds before the figures start: connections opened, pools
        # filled, code paths run once. A cold start is a different question from a steady load.
        self.measure_from = time.monotonic() + self.args.warmup
        stop = self.measure_from + self.args.seconds
        processing = None
        if self.args.worker != "none":
            processing = asyncio.create_task(self.processor(owner, group["id"], stop))
        users_done = asyncio.gather(
            *(self.user(n, headers, sessions[n], listed, stop) for n, headers in enumerate(users))
        )
        await asyncio.sleep(self.args.warmup)
        cpu_before = [cpu_seconds(pid) for pid in pids]
        began = time.monotonic()
        await users_done
        elapsed = time.monotonic() - began
        cpu = [
            (cpu_seconds(pid) - before) / elapsed
            for pid, before in zip(pids, cpu_before, strict=True)
        ]
        if processing is not None:
            await processing  # the job under way finishes; its time is not in the figures
        self.report(elapsed, cpu)

    def report(self, elapsed: float, cpu: list[float]) -> dict[str, object]:
        f = self.figures
        total = sum(len(v) for v in f.latencies.values())
        errors = sum(len(v) for v in f.errors.values())
        print(
            f"  {'route':<9}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'p99 ms':>9}{'max ms':>9}{'target':>9}"
        )
        verdicts = []
        for route in ("status", "speakers", "upload"):
            samples = f.latencies.get(route, [])
            if not samples:
                continue
            p99 = percentile(samples, 99)
            ok = p99 <= TARGETS_MS[route]
            verdicts.append(ok)
            print(
                f"  {route:<9}{len(samples):>9}{len(f.errors.get(route, [])):>8}"
                f"{percentile(samples, 50):>9.1f}{percentile(samples, 95):>9.1f}{p99:>9.1f}"
                f"{max(samples):>9.1f}{'<=' + format(TARGETS_MS[route], '.0f'):>7} "
                f"{'ok' if ok else 'MISSED'}"
            )
        print(
            f"  throughput {total / elapsed:.0f} requests/s over {elapsed:.0f} s, {errors} errors"
        )
        for route, found in f.errors.items():
            for why, count in sorted({w: found.count(w) for w in found}.items()):
                print(f"    {route}: {count} x {why}")
        if self.args.worker != "none":
            jobs = ", ".join(f"{s:.0f} s" for s in f.job_seconds)
            print(
                f"  processing: {f.jobs_done} sessions of {self.args.job_chunks} x 30 s done "
                f"({jobs}), {f.jobs_failed} failed"
            )
        names = [*["serve", "worker"][: len(cpu) - 1], "clients"]
        print(
            "  CPU: "
            + ", ".join(f"{name} {c * 100:.0f} %" for name, c in zip(names, cpu, strict=True))
            + f" (1 core = 100 %, {os.cpu_count()} cores)"
        )
        verdict = all(verdicts) and errors == 0
        print(f"  verdict: {'targets held' if verdict else 'targets MISSED'}")
        return {"elapsed": elapsed, "errors": errors, "ok": verdict}


async def run_mode(args: argparse.Namespace, mode: str, chunk: bytes) -> None:
    print(
        f"== worker {mode}: {args.clients} clients for {args.seconds:.0f} s "
        f"(status every {args.poll_every:g} s, speakers every {args.speakers_every:g} s, "
        f"a 30 s chunk every {args.chunk_every:g} s)",
        flush=True,
    )
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    secret = secrets.token_urlsafe(48)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lahstats-load-") as tmp:
        storage = Path(tmp) / "storage"
        async with Database() as db:
            with service(mode, db.url, storage, port, secret) as pids:
                limits = httpx.Limits(max_connections=args.clients + 10)
                timeout = httpx.Timeout(60)
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=timeout
                ) as client:
                    await wait_healthy(client, time.monotonic() + 120, storage.parent / "logs")
                    args.worker = mode
                    await Load(args, client, secret).run(chunk, pids)
            if args.keep_logs:
                kept = Path(args.keep_logs) / mode
                shutil.copytree(storage.parent / "logs", kept, dirs_exist_ok=True)
                print(f"  logs kept in {kept}")
    redis.flushdb()
    redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10, help="load not in the figures")
    parser.add_argument(
        "--worker",
        choices=["inprocess", "separate", "none", "all"],
        default="all",
        help="where sessions are processed during the load (default: each in turn)",
    )
    parser.add_argument("--poll-every", type=float, default=1.0)
    parser.add_argument("--speakers-every", type=float, default=5.0)
    parser.add_argument("--chunk-every", type=float, default=15.0)
    parser.add_argument("--job-chunks", type=int, default=4, help="30 s chunks per job")
    parser.add_argument("--keep-logs", default=None, help="copy the server logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        chunk = make_chunk(Path(tmp))
    modes = ["none", "inprocess", "separate"] if args.worker == "all" else [args.worker]
    for mode in modes:
        asyncio.run(run_mode(args, mode, chunk))


if __name__ == "__main__":
    main()
