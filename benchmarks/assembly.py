"""``make bench``, the end step's assembly alone at any session length, in about a minute.

Ten real 30 s chunks of the long recording are looked at (``pipeline.incremental.look``), their
edges joined, then laid end to end again and again to make N minutes of looks, and ``assemble``
is timed on them: clustering, words given to speakers, correction, counting; then what the end
step adds, each speaker's voice from the looks' windows (``window_voices``). The words repeat,
so the correction's cache flatters it; a session of N distinct minutes corrects about
``1,500 words / 10 min`` more (``correct`` costs ~0.17 s per 1,000 distinct words here).

    python -m benchmarks.assembly [--minutes 10 60 180] [--source FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

from benchmarks.pipeline import DEFAULT_SOURCE

LOOKED_AT = 10  # real chunks, repeated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 180])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"assembly benchmark skipped: {args.source} not found (pass --source FILE)")
        return 0
    from lahstats.pipeline.decode import decode_file
    from lahstats.pipeline.diarize import join_features
    from lahstats.pipeline.embed import FRAME_SECONDS
    from lahstats.pipeline.incremental import (
        CHUNK_SECONDS,
        ChunkResult,
        EdgeWords,
        assemble,
        cut_into_chunks,
        edges_needed,
        join,
        laid_end_to_end,
        look,
    )
    from lahstats.pipeline.run import load_models
    from lahstats.pipeline.types import SAMPLE_RATE, Audio
    from lahstats.pipeline.wespeaker import window_voices
    from lahstats.settings import Settings

    models = load_models(Settings(env="test"))
    audio = decode_file(args.source)
    seconds = int(LOOKED_AT * CHUNK_SECONDS * SAMPLE_RATE)
    looked = [
        look(models, n, a) for n, a in enumerate(cut_into_chunks(Audio(audio.samples[:seconds])))
    ]
    stored = [result.to_bytes() for result in looked]
    joined = {
        key: join(
            models,
            looked[key[0]] if key[0] is not None else None,
            looked[key[1]] if key[1] is not None else None,
        )
        for key in edges_needed(range(len(looked)))
    }
    print(
        f"{'minutes':>7} {'chunks':>6} {'parse s':>8} {'assemble s':>10} {'voices s':>8} "
        f"{'words':>6} {'spk':>4} {'voiced':>6}"
    )
    for minutes in args.minutes:
        count = round(minutes * 60 / CHUNK_SECONDS)
        started = time.perf_counter()
        results = [
            dataclasses.replace(ChunkResult.from_bytes(stored[n % len(stored)]), number=n)
            for n in range(count)
        ]
        parsed = time.perf_counter() - started
        edges = {}
        for left, right in edges_needed(range(count)):
            source = (
                None if left is None else left % len(looked),
                None if right is None else right % len(looked),
            )
            found = joined.get(source) or EdgeWords(*source, ())
            edges[(left, right)] = EdgeWords(left, right, found.words)
        placed = laid_end_to_end(results)
        started = time.perf_counter()
        analysis = assemble(results, edges, models.lexicon)
        took = time.perf_counter() - started
        # what the end step adds: each speaker's voice from the looks' windows
        features = join_features(
            [
                (round(at / FRAME_SECONDS), r.features)
                for r, (_, at, _) in zip(results, placed, strict=True)
            ]
        )
        started = time.perf_counter()
        voiced = window_voices(features, analysis.turns)
        voices = time.perf_counter() - started
        speakers = len({turn.speaker for turn in analysis.turns})
        print(
            f"{minutes:>7g} {count:>6} {parsed:>8.2f} {took:>10.2f} {voices:>8.2f} "
            f"{len(analysis.words):>6} {speakers:>4} {len(voiced):>6}",
            flush=True,
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
