"""Speech cut into pieces a batched recogniser hears at once, run through it in batches, and
times for the words of a recogniser that gives none.

Pure functions of turns and times (and a ``run`` callable): no model is loaded here. A piece is
at most 30 s, what Whisper's encoder and MERaLiON's audio chunk take in one go; a batch that runs
the GPU out of memory is halved rather than failing the recording.
"""

from __future__ import annotations

import gc
import itertools
import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from lahstats.errors import ConfigurationError
from lahstats.pipeline.recognisers.common import turn_regions
from lahstats.pipeline.types import Turn

# Both models hear 30 s at a time: Whisper's encoder window, MERaLiON's audio chunk.
LONGEST_PIECE = 30.0
# A cut closer than this to a piece's start would make a piece too short to recognise.
SHORTEST_PIECE = 1.0

T = TypeVar("T")
R = TypeVar("R")


def cut_pieces(
    regions: Sequence[tuple[float, float]],
    turns: Sequence[Turn],
    *,
    longest: float = LONGEST_PIECE,
    shortest: float = SHORTEST_PIECE,
) -> list[tuple[float, float]]:
    """The regions, each cut into pieces of at most ``longest`` seconds where fewest people speak:
    in a pause between turns when there is one, else at a turn's edge, else wherever it must."""
    pieces: list[tuple[float, float]] = []
    for region_start, end in regions:
        start = region_start
        while end - start > longest:
            cut = _best_cut(start + shortest, start + longest, turns)
            pieces.append((start, cut))
            start = cut
        pieces.append((start, end))
    return pieces


def _best_cut(lo: float, hi: float, turns: Sequence[Turn]) -> float:
    spoken = turn_regions(turns, float("inf"), gap=0.0, pad=0.0)
    pauses = [(a[1] + b[0]) / 2 for a, b in itertools.pairwise(spoken)]
    edges = [edge for turn in turns for edge in (turn.start, turn.end)]

    def speakers(at: float) -> int:
        return sum(turn.start < at < turn.end for turn in turns)

    # The fewest voices cut, the middle of a pause before a turn's edge, the longest piece.
    candidates = [
        (speakers(at), rank, -at)
        for rank, points in enumerate((pauses, edges))
        for at in points
        if lo <= at <= hi
    ]
    return -min(candidates)[2] if candidates else hi


def spread(
    words: Sequence[str], start: float, end: float, turns: Sequence[Turn]
) -> list[tuple[float, float]]:
    """Times for a piece's words, which the model gave without: laid over the speech the turns
    cover inside ``start..end`` (never in a pause between turns), in order, each word's share
    in proportion to its letters.

    Letters rather than syllables: the words may be English, Singlish, Malay or Chinese (MERaLiON
    writes all four), letters need no pronunciation rules for any of them, and in Chinese a
    character is a syllable. A word that would straddle a pause is kept on the side holding most
    of it. Starts and ends never go back, and every time lies inside ``start..end``.
    """
    spans = turn_regions(
        [Turn(t.speaker, max(start, t.start), min(end, t.end)) for t in turns],
        end,
        gap=0.0,
        pad=0.0,
    ) or [(start, end)]
    weights = [max(1, sum(char.isalnum() for char in word)) for word in words]
    speech = sum(to - at for at, to in spans)
    total = sum(weights)
    offsets: list[float] = []  # where each span begins along the speech
    run = 0.0
    for at, to in spans:
        offsets.append(run)
        run += to - at
    times: list[tuple[float, float]] = []
    done = 0
    for weight in weights:
        lo, hi = speech * done / total, speech * (done + weight) / total
        done += weight
        middle = (lo + hi) / 2
        index = next(
            (i for i, (at, to) in enumerate(spans) if middle < offsets[i] + to - at),
            len(spans) - 1,
        )
        at, to = spans[index]
        begin, finish = offsets[index], offsets[index] + to - at
        times.append(
            (at + min(max(lo, begin), finish) - begin, at + min(max(hi, begin), finish) - begin)
        )
    return times


def compression_ratio(text: str) -> float:
    """Whisper's measure of a repetition loop: how well the text compresses."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def in_batches(
    items: Sequence[T],
    size: int,
    run: Callable[[list[T]], list[R]],
    *,
    on_done: Callable[[int], None],
    name: str,
) -> list[R]:
    """``run`` over ``items``, ``size`` at a time; a batch that runs the GPU out of memory is
    halved and tried again, down to one item, and then the settings that help are named."""
    import torch

    results: list[R] = []
    while len(results) < len(items):
        batch = list(items[len(results) : len(results) + size])
        try:
            results.extend(run(batch))
        except torch.cuda.OutOfMemoryError:
            out_of_memory = True
        else:
            out_of_memory = False
            on_done(len(results))
        if out_of_memory:
            # Outside the handler: the traceback holds the failed batch's tensors until then.
            _free_gpu_memory()
            if len(batch) == 1:
                raise ConfigurationError(
                    f"the GPU ran out of memory transcribing with {name}, even one piece (up to "
                    f"{LONGEST_PIECE:g} s) at a time",
                    hint="Lower LAHSTATS_TRANSCRIBER_BATCH_SIZE, load the weights at half size "
                    "with LAHSTATS_TRANSCRIBER_DTYPE=float16 (or bfloat16), use a smaller "
                    "model, or run on the CPU with LAHSTATS_DEVICE=cpu.",
                )
            size = max(1, len(batch) // 2)
    return results


def _free_gpu_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
