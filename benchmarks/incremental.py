"""``make bench``, the chunk-by-chunk part: what people wait for when chunks are looked at as they
arrive, on the embedded default (SQLite, local files, the job functions in this process).

For each duration, in a fresh process: the long recording's first N minutes are cut into 30 s
MP3 chunks (``ffmpeg -f segment``, no re-encoding) and stored as uploads are; each chunk's job
runs as it "arrives" (one after another, the pace set by how fast they are looked at, which
must stay well under 30 s a chunk); then the session is ended and the end job runs. Prints the
chunk-job seconds (mean, 95th percentile, most), end-to-ready seconds and the peak RSS of the
whole run. The PostgreSQL + Redis + ``lahstats worker`` figure is left to a later run.

    python -m benchmarks.incremental [--minutes 10 60 180] [--source FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.pipeline import DEFAULT_SOURCE, each_in_a_process


async def _run(source: Path, minutes: float, root: Path) -> dict[str, Any]:
    from lahstats.jobs.chunks import analyze_chunk
    from lahstats.jobs.context import RESOURCES_KEY, JobResources
    from lahstats.jobs.process import process_session
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

    folder = root / "chunks"
    folder.mkdir()
    await asyncio.to_thread(
        subprocess.run,
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(source)),
            *("-t", str(minutes * 60), "-c", "copy", "-f", "segment", "-segment_time", "30"),
            str(folder / "c%05d.mp3"),
        ],
        check=True,
    )
    files = sorted(folder.glob("c*.mp3"))
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
            )
        arrived = time.perf_counter()
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
    await resources.database.dispose()
    ordered = sorted(chunk_seconds)
    return {
        "minutes": minutes,
        "chunks": len(files),
        "load_seconds": round(load_seconds, 2),
        "chunk_mean_s": round(statistics.fmean(chunk_seconds), 2),
        "chunk_p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "chunk_max_s": round(ordered[-1], 2),
        "end_to_ready_s": round(end_seconds, 2),
        "status": result.get("status"),
        "speakers": result.get("speakers"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_one(source: Path, minutes: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_run(source, minutes, Path(tmp)))


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'minutes':>7} {'chunks':>6} {'chunk s mean':>12} {'p95':>6} {'max':>6} "
        f"{'end->ready s':>12} {'RSS MB':>7} {'spk':>4}"
    ]
    for r in results:
        lines.append(
            f"{r['minutes']:>7g} {r['chunks']:>6} {r['chunk_mean_s']:>12.2f} "
            f"{r['chunk_p95_s']:>6.2f} {r['chunk_max_s']:>6.2f} {r['end_to_ready_s']:>12.2f} "
            f"{r['peak_rss_mb']:>7.0f} {r['speakers']!s:>4}"
        )
    lines.append("chunk s: a 30 s chunk's job, arrival to stored (must stay well under 30 s)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"chunk-by-chunk benchmark skipped: {args.source} not found (pass --source FILE)")
        return 0
    if args.one is not None:
        print(json.dumps(run_one(args.source, args.one)))
        return 0
    print(report(each_in_a_process("benchmarks.incremental", "chunk by chunk,", args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
