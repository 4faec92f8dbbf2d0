"""``make bench``, the pipeline part: cost of the whole pipeline on 2, 10 and 30 minutes of audio.

Each duration runs in a fresh process (so peak RSS is that run's own) on the first N minutes of a
long recording (default ``../shared/data/dev/adversarial/long_30min.mp3``, cut with ffmpeg without
re-encoding, and played again from the start for durations past its end: ``--minutes 120``).
Prints model load time, seconds per stage, RTF and peak RSS, and how the cost per audio minute
grows with duration (1.0 = linear).

    python -m benchmarks.pipeline [--minutes 2 10 30] [--source FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "dev"
    / "adversarial"
    / "long_30min.mp3"
)
STAGES = ("decode", "diarize", "transcribe", "correct", "count", "sample", "embed")


def run_one(source: Path, minutes: float) -> dict[str, Any]:
    """In this process: cut, load, decode, analyze; return the figures."""
    from lahstats.pipeline.decode import decode_file
    from lahstats.pipeline.run import analyze, load_models
    from lahstats.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / f"first_{minutes:g}min{source.suffix}"
        subprocess.run(
            [
                *("ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(source)),
                *("-t", str(minutes * 60), "-c", "copy", str(cut)),
            ],
            check=True,
        )
        settings = Settings(env="test", data_dir=Path(tmp) / "var")
        models = load_models(settings)
        started = time.perf_counter()
        audio = decode_file(cut)
        decoded = time.perf_counter() - started
        analysis = analyze(models, audio)
        total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "minutes": minutes,
        "audio_seconds": round(audio.duration, 1),
        "load_seconds": round(models.load_seconds, 2),
        "stages": {"decode": round(decoded, 2)}
        | {k: round(v, 2) for k, v in analysis.timings.items()},
        "total_seconds": round(total, 2),
        "rtf": round(total / audio.duration, 4),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "speakers": len(analysis.speakers),
        "target_words": sum(c.total for c in analysis.counts),
        "models": models.names,
    }


def report(results: list[dict[str, Any]]) -> str:
    header = f"{'minutes':>7} {'audio s':>8} {'load s':>7} " + " ".join(
        f"{s[:10]:>10}" for s in STAGES
    )
    header += f" {'total s':>8} {'RTF':>6} {'s/min':>6} {'growth':>6} {'RSS MB':>7} {'spk':>4}"
    lines = [header]
    base: float | None = None
    for r in results:
        per_minute = r["total_seconds"] / (r["audio_seconds"] / 60)
        base = base or per_minute
        stages = " ".join(f"{r['stages'].get(s, 0.0):>10.2f}" for s in STAGES)
        lines.append(
            f"{r['minutes']:>7g} {r['audio_seconds']:>8.1f} {r['load_seconds']:>7.2f} {stages} "
            f"{r['total_seconds']:>8.1f} {r['rtf']:>6.3f} {per_minute:>6.1f} "
            f"{per_minute / base:>6.2f} {r['peak_rss_mb']:>7.0f} {r['speakers']:>4}"
        )
    if results:
        lines.append(f"models: {results[0]['models']}")
    lines.append("growth: seconds per audio minute relative to the shortest run (1.00 = linear)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 10, 30])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"pipeline benchmark skipped: {args.source} not found (pass --source FILE)")
        return 0
    if args.one is not None:
        print(json.dumps(run_one(args.source, args.one)))
        return 0
    print(report(each_in_a_process("benchmarks.pipeline", "pipeline on", args)))
    return 0


def each_in_a_process(
    module: str, what: str, args: argparse.Namespace, extra: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``python -m module --one MINUTES --source FILE [extra]`` for each of ``args.minutes``, in a
    fresh process each (so peak RSS is that run's own); the JSON line each prints last."""
    results = []
    for minutes in args.minutes:
        print(f"{what} {minutes:g} min of {args.source.name}...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [
                *(sys.executable, "-m", module),
                *("--one", str(minutes), "--source", str(args.source)),
                *extra,
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "LAHSTATS_LOG_LEVEL": "warning"},
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    raise SystemExit(main())
