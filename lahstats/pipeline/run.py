"""Chains the stages: decoded audio in, an ``Analysis`` out, with progress in the seeds' bands.

    0-10 decode | 10-40 diarize | 40-85 transcribe, correct, count | 85-95 saving | 95-100 samples

The saving band belongs to the service that persists the result (``sessions/processing.py``), so
the work is split in two: ``analyze_speech`` (up to 85) and ``finish`` (samples and voice
embeddings, 95-100); ``analyze`` does both, for the command line and the evaluation;
``analyze_chunks`` is a session's chunks processed whole, and ``finish_from_chunks`` the end of a
session assembled from its chunks' looks (``incremental.py``). The hook given here receives
``on_progress(stage, percent, 100)``. Models are loaded once with ``load_models`` and reused for
every recording. Nothing here is async: the service calls these functions from a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lahstats.lexicon.lexicon import Lexicon, load_lexicon
from lahstats.pipeline.decode import ChunkedAudio, decode_chunks
from lahstats.pipeline.diarize import Diarizer, diarize, load_diarizer
from lahstats.pipeline.embed import SpeakerEmbedder, complete_voices, load_embedder
from lahstats.pipeline.incremental import VOICE_SECONDS, Part
from lahstats.pipeline.recount import recount
from lahstats.pipeline.sample import cut_samples
from lahstats.pipeline.transcribe import Transcriber, load_transcriber, transcribe
from lahstats.pipeline.types import (
    Analysis,
    Audio,
    AudioSource,
    Chunk,
    ProgressHook,
    Samples,
    SpeakerHints,
    no_progress,
)

if TYPE_CHECKING:
    from lahstats.settings import Settings

# (start, end) percent of each stage; "saving" is the job's (see module docstring).
BANDS: dict[str, tuple[int, int]] = {
    "decode": (0, 10),
    "diarize": (10, 40),
    "transcribe": (40, 80),
    "correct": (80, 83),
    "count": (83, 85),
    "saving": (85, 95),
    "sample": (95, 98),
    "embed": (98, 100),
}
# Where saving starts: the progress of a session's processing at the end of the pipeline's own
# stages (``sessions/processing.py`` saves from here).
SAVING_PERCENT = BANDS["saving"][0]
# Parts kept decoded while samples and voices are cut at the end of a session assembled from its
# chunks (30 s at 16 kHz: 1.9 MB each): the speakers' stretches are visited speaker by speaker,
# all over the session, and with 4 kept 9 chunks were decoded 15 times.
DECODED_KEPT = 32


@dataclass(frozen=True, slots=True)
class Models:
    """The loaded models of one configuration; load once per process, share across recordings."""

    diarizer: Diarizer
    transcriber: Transcriber
    embedder: SpeakerEmbedder
    lexicon: Lexicon
    load_seconds: float

    @property
    def names(self) -> dict[str, str]:
        return {
            "diarizer": self.diarizer.name,
            "transcriber": self.transcriber.name,
            "embedder": self.embedder.name,
        }


def load_models(settings: Settings, lexicon: Lexicon | None = None) -> Models:
    """Loads every model the settings name; ``ModelUnavailable`` (with a fix) if one is absent."""
    started = time.perf_counter()
    lexicon = lexicon or load_lexicon()
    diarizer = load_diarizer(settings)
    transcriber = load_transcriber(settings, lexicon)
    embedder = load_embedder(settings)
    return Models(diarizer, transcriber, embedder, lexicon, time.perf_counter() - started)


def banded(on_progress: ProgressHook) -> ProgressHook:
    """Turns a stage's ``(stage, done, total)`` into the overall ``(stage, percent, 100)``."""
    last = {"percent": -1}

    def hook(stage: str, done: int, total: int) -> None:
        low, high = BANDS.get(stage, (0, 100))
        fraction = min(1.0, done / total) if total > 0 else 1.0
        percent = low + int((high - low) * fraction)
        # Never report going backwards, and never the same figure twice in a row.
        if percent > last["percent"]:
            last["percent"] = percent
            on_progress(stage, percent, 100)

    return hook


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


def analyze_speech(
    models: Models,
    audio: Audio,
    hints: SpeakerHints | None = None,
    *,
    lexicon: Lexicon | None = None,
    on_progress: ProgressHook = no_progress,
) -> Analysis:
    """Diarize, transcribe, correct and count: progress 10 to 85.

    ``lexicon`` (default: the models') says which words are corrected and counted, e.g. with a
    group's own words; the recogniser keeps the lexicon it was loaded with.
    """
    hook = banded(on_progress)
    clock = _Clock()
    with clock.stage("diarize"):
        turns = diarize(models.diarizer, audio, hints or SpeakerHints(), on_progress=hook)
    hook("diarize", 1, 1)
    with clock.stage("transcribe"):
        heard = transcribe(models.transcriber, audio, turns, on_progress=hook)
    hook("transcribe", 1, 1)
    counted = recount(
        heard, turns, lexicon if lexicon is not None else models.lexicon, on_progress=hook
    )
    return Analysis(
        duration=audio.duration,
        turns=tuple(turns),
        words=counted.words,
        segments=counted.segments,
        counts=counted.counts,
        gaps=audio.gaps,
        timings={**clock.timings, **counted.timings},
        heard=tuple(heard),
    )


def finish(
    models: Models,
    audio: AudioSource,
    analysis: Analysis,
    *,
    on_progress: ProgressHook = no_progress,
    with_samples: bool = True,
    with_embeddings: bool = True,
    voice_seconds: float | None = None,
) -> Analysis:
    """Sample clips and voice embeddings per speaker: progress 95 to 100; a voice from at most
    ``voice_seconds`` of each speaker's clean speech when given. A speaker whose voice the
    analysis already holds in the embedder's space (``assemble`` takes it from the diarizer's
    windows) keeps it, and only the others' audio is embedded."""
    hook = banded(on_progress)
    clock = _Clock()
    samples = analysis.samples
    embeddings = analysis.embeddings
    if with_samples:
        with clock.stage("sample"):
            samples = cut_samples(audio, analysis.turns, on_progress=hook)
    hook("sample", 1, 1)
    if with_embeddings:
        with clock.stage("embed"):
            embeddings = complete_voices(
                models.embedder,
                audio,
                analysis.turns,
                embeddings,
                longest=voice_seconds,
                on_progress=hook,
            )
    hook("embed", 1, 1)
    return replace(
        analysis,
        samples=tuple(samples),
        embeddings=tuple(embeddings),
        timings={**analysis.timings, **clock.timings},
    )


def analyze(
    models: Models,
    audio: Audio,
    hints: SpeakerHints | None = None,
    *,
    on_progress: ProgressHook = no_progress,
    with_samples: bool = True,
    with_embeddings: bool = True,
) -> Analysis:
    """The whole pipeline on decoded audio (the saving band passes at once)."""
    analysis = analyze_speech(models, audio, hints, on_progress=on_progress)
    banded(on_progress)("saving", 1, 1)
    return finish(
        models,
        audio,
        analysis,
        on_progress=on_progress,
        with_samples=with_samples,
        with_embeddings=with_embeddings,
    )


def analyze_chunks(
    models: Models,
    chunks: Sequence[Chunk],
    on_progress: ProgressHook,
    *,
    lexicon: Lexicon | None = None,
) -> Analysis:
    """The whole pipeline on a session's chunks, samples and voices included. Blocking.

    ``lexicon``: the words to count (the group's); default the models' built-in ones.
    """
    audio = decode_chunks(chunks, on_progress=banded(on_progress))
    speech = analyze_speech(models, audio, lexicon=lexicon, on_progress=on_progress)
    on_progress("saving", SAVING_PERCENT, 100)  # saving goes on from here
    return finish(models, audio, speech, on_progress=on_progress)


def finish_from_chunks(
    models: Models,
    analysis: Analysis,
    parts: Sequence[tuple[Part, float, float]],
    read: Callable[[Part], Samples],
    *,
    on_progress: ProgressHook = no_progress,
) -> tuple[Analysis, int]:
    """``finish`` for a session assembled from its chunks' looks (``incremental.assemble``):
    samples, and each voice the looks did not hold from at most ``VOICE_SECONDS`` of its
    speaker, reading only the parts (``incremental.audio_parts``) they lie in, ``read(part)``
    at a time, the last ``DECODED_KEPT`` kept decoded. Returns the analysis and how many parts
    were decoded. Blocking."""
    audio = ChunkedAudio(parts, read, keep=DECODED_KEPT)
    finished = finish(models, audio, analysis, on_progress=on_progress, voice_seconds=VOICE_SECONDS)
    return finished, audio.decoded
