"""``make bench``, the chunk-by-chunk part: what people wait for when chunks are looked at as they
arrive, on the embedded default (SQLite, local files, the job functions in this process).

For each duration, in a fresh process: the long recording's first N minutes are cut into 30 s
MP3 chunks (``ffmpeg -f segment``, no re-encoding) and stored as uploads are; each chunk's job
runs as it "arrives" (one after another, the pace set by how fast they are looked at, which
must stay well under 30 s a chunk); then the session is ended and the end job runs. Prints the
chunk-job seconds (mean, 95th percentile, most), end-to-ready seconds and the peak RSS of the
whole run.

``--backend service``: the production shape instead. A fresh PostgreSQL database, Redis, one
``lahstats serve`` (no workers inside) and one ``lahstats worker``; the chunks are PUT over
HTTP, each as soon as the one before is looked at (or every ``--pace`` seconds), and the
session ended with ``POST /end`` right after the last one is answered. Chunk latency is
upload answered to look stored (polled in the database every 0.1 s), end to ready is ``/end``
answered to ``/status`` ready (polled every 0.2 s), and the peak RSS is the worker's and the
server's own (``VmHWM``).

    python -m benchmarks.incremental [--minutes 10 60 180] [--source FILE]
                                     [--backend embedded service] [--pace SECONDS]

``--backend one-file``: the embedded default, the N minutes uploaded as one file (a whole
recording from the page's file picker), looked at in 30 s pieces by its one chunk job; its
"chunk s" is that job's.

``make bench`` runs 10 minutes on both; ``make bench-long`` 10, 60 and 180 on both (about
3 hours on 2 cores: a chunk job takes ~6.5 s and 180 minutes are 360 of them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import secrets
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.pipeline import DEFAULT_SOURCE, each_in_a_process


async def _run(source: Path, minutes: float, root: Path, one_file: bool) -> dict[str, Any]:
    from lahstats.jobs.chunks import analyze_chunk
    from lahstats.jobs.context import RESOURCES_KEY, JobResources
    from lahstats.jobs.process import process_session
    from lahstats.pipeline.decode import probe
    from lahstats.settings import Settings
    from lahstats.storage.blobs.local import LocalBlobStore
    from lahstats.storage.database import Database
    from lahstats.storage.keys import chunk_key
    from lahstats.storage.migrations import upgrade
    from lahstats.storage.models import SessionStatus
    from lahstats.storage.repositories import (
        ChunkRepository,
        GroupRepository,
        ProfileRepository,
        SessionRepository,
    )
    from lahstats.storage.types import utcnow

    files = await asyncio.to_thread(_cut, source, minutes, root / "chunks", one_file)
    settings = Settings(env="test", data_dir=root / "var")
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    resources = JobResources(
        settings=settings,
        database=Database(settings.resolved_database_url),
        blobs=LocalBlobStore(root / "blobs"),
    )
    job = {RESOURCES_KEY: resources, "job_try": 1}
    started = time.perf_counter()
    await resources.models.get()
    load_seconds = time.perf_counter() - started
    async with resources.database.session() as db:
        owner = await ProfileRepository(db).ensure(uuid.uuid4(), email="bench@example.com")
        group = await GroupRepository(db).create(
            name="bench", invite_code="bench", owner_id=owner.id
        )
        recording = await SessionRepository(db).create(group_id=group.id, started_by=owner.id)
    chunk_seconds = []
    last: asyncio.Task[Any] | None = None
    for number, path in enumerate(files):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        key = chunk_key(recording.id, number, sha, "mp3")
        await resources.blobs.put(key, data, content_type="audio/mpeg")
        async with resources.database.session() as db:
            await ChunkRepository(db).add(
                session_id=recording.id,
                chunk_number=number,
                storage_key=key,
                content_type="audio/mpeg",
                size_bytes=len(data),
                sha256=sha,
                duration_seconds=probe(data).duration,  # as the upload stores it
            )
        arrived = time.perf_counter()
        if number == len(files) - 1 and not one_file:
            # the app ends as soon as its last chunk is uploaded: that chunk's job is still
            # looking at it, and the end job waits for it (its time is in end to ready)
            last = asyncio.create_task(analyze_chunk(job, str(recording.id), number))
            await asyncio.sleep(0.5)
            break
        await analyze_chunk(job, str(recording.id), number)
        chunk_seconds.append(time.perf_counter() - arrived)
    ended = time.perf_counter()
    async with resources.database.session() as db:
        await SessionRepository(db).transition(
            recording.id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.PROCESSING,
            ended_at=utcnow(),
            progress=0,
            stage="queued",
        )
    result = await process_session(job, str(recording.id))
    end_seconds = time.perf_counter() - ended
    if last is not None:
        await last
    await resources.database.dispose()
    return {
        "minutes": minutes,
        "backend": "one file" if one_file else "embedded",
        "chunks": len(files),
        "load_seconds": round(load_seconds, 2),
        **_summary(chunk_seconds),
        "end_to_ready_s": round(end_seconds, 2),
        "status": result.get("status"),
        "speakers": result.get("speakers"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _cut(source: Path, minutes: float, folder: Path, one_file: bool = False) -> list[Path]:
    """The source's first ``minutes`` (looped when shorter) as 30 s MP3 chunks, or one file."""
    folder.mkdir()
    cut = ["-f", "segment", "-segment_time", "30"] if not one_file else []
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(source)),
            *("-t", str(minutes * 60), "-c", "copy", *cut),
            str(folder / ("c%05d.mp3" if not one_file else "c00000.mp3")),
        ],
        check=True,
    )
    return sorted(folder.glob("c*.mp3"))


def _summary(chunk_seconds: list[float]) -> dict[str, float]:
    ordered = sorted(chunk_seconds)
    return {
        "chunk_mean_s": round(statistics.fmean(ordered), 2),
        "chunk_p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "chunk_max_s": round(ordered[-1], 2),
    }


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _run_service(source: Path, minutes: float, root: Path, pace: float) -> dict[str, Any]:
    """The production shape (module docstring): serve + one worker on PostgreSQL and Redis."""
    import asyncpg
    import httpx

    from benchmarks.loadtest import Database, free_port, service, wait_healthy
    from lahstats.auth.tokens import create_token
    from lahstats.settings import Settings

    files = await asyncio.to_thread(_cut, source, minutes, root / "chunks")
    secret = secrets.token_urlsafe(32)
    token = create_token(Settings(env="production", jwt_secret=secret), email="b@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    storage = root / "blobs"
    storage.mkdir()
    async with Database() as database:
        plain_url = database.url.replace("postgresql+asyncpg://", "postgresql://")
        with service("separate", database.url, storage, port, secret) as pids:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                await wait_healthy(client, time.monotonic() + 120, root / "logs")
                group = await client.post("/groups", json={"name": "bench"}, headers=headers)
                group.raise_for_status()
                started = await client.post(
                    "/sessions/start", json={"group_id": group.json()["id"]}, headers=headers
                )
                started.raise_for_status()
                sid = started.json()["id"]
                db = await asyncpg.connect(plain_url)
                latencies: list[float] = []
                try:
                    for number, path in enumerate(files):
                        sent = time.perf_counter()
                        put = await client.put(
                            f"/sessions/{sid}/chunks/{number}",
                            content=path.read_bytes(),
                            headers={**headers, "Content-Type": "audio/mpeg"},
                        )
                        put.raise_for_status()
                        answered = time.perf_counter()
                        if number == len(files) - 1:
                            break  # ended at once, as the app does
                        await _looked_at(db, uuid.UUID(sid), number)
                        latencies.append(time.perf_counter() - answered)
                        await asyncio.sleep(max(0.0, sent + pace - time.perf_counter()))
                finally:
                    await db.close()
                ended = time.perf_counter()
                (await client.post(f"/sessions/{sid}/end", headers=headers)).raise_for_status()
                status = ""
                while status not in {"ready_for_claiming", "completed", "failed"}:
                    await asyncio.sleep(0.2)
                    answer = await client.get(f"/sessions/{sid}/status", headers=headers)
                    status = answer.json()["status"]
                end_seconds = time.perf_counter() - ended
                speakers = await client.get(f"/sessions/{sid}/speakers", headers=headers)
            rss = [_peak_rss_mb(pid) for pid in pids]
    return {
        "minutes": minutes,
        "backend": "service",
        "chunks": len(files),
        **_summary(latencies),
        "end_to_ready_s": round(end_seconds, 2),
        "status": status,
        "speakers": len(speakers.json()["speakers"]) if speakers.is_success else None,
        "peak_rss_mb": round(max(rss), 1),
        "serve_rss_mb": round(rss[0], 1),
    }


async def _looked_at(db: Any, session: uuid.UUID, number: int) -> None:
    """Returns once chunk ``number``'s look is stored (polled every 0.1 s)."""
    query = "SELECT count(*) FROM chunk_analyses WHERE session_id = $1 AND chunk_number = $2"
    while True:
        if await db.fetchval(query, session, number):
            return
        await asyncio.sleep(0.1)


def run_one(source: Path, minutes: float, backend: str, pace: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "service":
            return asyncio.run(_run_service(source, minutes, Path(tmp), pace))
        return asyncio.run(_run(source, minutes, Path(tmp), one_file=backend == "one-file"))


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'backend':>8} {'minutes':>7} {'chunks':>6} {'chunk s mean':>12} {'p95':>6} "
        f"{'max':>6} {'end->ready s':>12} {'RSS MB':>7} {'spk':>4}"
    ]
    for r in results:
        lines.append(
            f"{r['backend']:>8} {r['minutes']:>7g} {r['chunks']:>6} {r['chunk_mean_s']:>12.2f} "
            f"{r['chunk_p95_s']:>6.2f} {r['chunk_max_s']:>6.2f} {r['end_to_ready_s']:>12.2f} "
            f"{r['peak_rss_mb']:>7.0f} {r['speakers']!s:>4}"
        )
    lines.append(
        "chunk s: a 30 s chunk from arrival (embedded) or upload answered (service) to its look"
        " stored; must stay well under 30 s. RSS: peak of the process (embedded) or of serve"
        " and worker, the larger"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument(
        "--backend",
        choices=["embedded", "service", "one-file"],
        nargs="+",
        default=["embedded", "service"],
    )
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between uploads")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"chunk-by-chunk benchmark skipped: {args.source} not found (pass --source FILE)")
        return 0
    if args.one is not None:
        print(json.dumps(run_one(args.source, args.one, args.backend[0], args.pace)))
        return 0
    results = []
    for backend in args.backend:
        extra = ["--backend", backend, "--pace", str(args.pace)]
        results += each_in_a_process(
            "benchmarks.incremental", f"{backend}: chunk by chunk,", args, extra
        )
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
