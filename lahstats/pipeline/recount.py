"""Correct and count what the recogniser heard: the part of the pipeline that needs no model.

Particles the read-out heard where the recogniser wrote nothing (``pipeline.particles``) skip
correction, which reads only what was written, and join the corrected words after it.

``analyze_speech`` ends with ``recount``, and a group that tracks a new word calls it again on a
past session's stored recognition (``words.recount``): one function, so a recount and a fresh run
can never disagree. Pure: words and turns in, words, transcript lines and counts out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.correct import correct
from lahstats.pipeline.count import count_words, segments
from lahstats.pipeline.particles import THRESHOLDS, is_unwritten, with_particles
from lahstats.pipeline.types import ProgressHook, Segment, SpeakerCounts, Turn, Word, no_progress


@dataclass(frozen=True, slots=True)
class Recount:
    """The corrected words, the transcript lines and the counts of one recording."""

    words: tuple[Word, ...]
    segments: tuple[Segment, ...]
    counts: tuple[SpeakerCounts, ...]
    timings: Mapping[str, float]  # seconds spent correcting and counting


def recount(
    heard: Sequence[Word],
    turns: Sequence[Turn],
    lexicon: Lexicon,
    *,
    on_progress: ProgressHook = no_progress,
    particle_thresholds: Mapping[str, float] = THRESHOLDS,
) -> Recount:
    """Corrects ``heard`` with ``lexicon``, then counts each speaker's words and cuts the lines."""
    started = time.perf_counter()
    written = [word for word in heard if not is_unwritten(word)]
    words = with_particles(
        correct(written, lexicon),
        [word for word in heard if is_unwritten(word)],
        frozenset(lexicon.words),
        particle_thresholds,
    )
    on_progress("correct", 1, 1)
    corrected = time.perf_counter()
    counts = count_words(words, lexicon)
    lines = segments(words, turns)
    on_progress("count", 1, 1)
    return Recount(
        words=tuple(words),
        segments=tuple(lines),
        counts=tuple(counts),
        timings={"correct": corrected - started, "count": time.perf_counter() - corrected},
    )
