"""Choose each particle's and word's threshold for the read-outs on our own generated speech.

The recognition of each recording keeps every particle the read-out heard at ``FLOOR`` or over
(``pipeline.particles``); which of them count is decided by ``recount`` with per-particle
thresholds. So the pipeline runs once per recording (cached under ``--cache``) and the thresholds
are swept on the stored words alone: coordinate ascent on the summed target-word F1 of the set,
speaker-attributed as ``lahstats eval`` scores it. Run it on a generated set
(``lahstats.evaluation.generate``), never on the dev set, and confirm on another seed and on dev:

    python -m lahstats.evaluation.particle_thresholds /tmp/gen/s2 --cache /tmp/gen/s2-heard

The cache also keeps the encoder frames each read-out read, so a read-out fitted anew
(``particle_training --out``) is scored on the same recognitions without the recogniser:
``--readout new-particles.npz`` and ``--word-readout new-words.npz``.
"""

from __future__ import annotations

import argparse
import functools
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from lahstats.evaluation.dataset import Recording, load_dataset, reference_turns
from lahstats.evaluation.metrics import WordScores, map_speakers, total_word_scores, word_scores
from lahstats.lexicon.lexicon import Lexicon, load_lexicon
from lahstats.pipeline.particles import (
    DEFAULT_WEIGHTS,
    FRAME_RATE,
    LABELS,
    THRESHOLDS,
    WORD_LABELS,
    WORD_WEIGHTS,
    ParticleReadout,
    is_unwritten,
    particle_words,
)
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import Turn, Word

CANDIDATES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.01)  # 1.01: never


@dataclass(frozen=True, slots=True)
class Heard:
    recording: Recording
    words: tuple[Word, ...]
    turns: tuple[Turn, ...]
    # What the read-outs read: (start, end, encoder frames) per stretch of a region.
    listened: tuple[tuple[float, float, np.ndarray[Any, Any]], ...] = ()

    def read_by(self, readouts: Sequence[ParticleReadout]) -> Heard:
        """The same recognition with what ``readouts`` hear in the kept frames in place of what
        the shipped read-outs heard."""
        if not self.listened:
            raise SystemExit(f"{self.recording.id}: no frames in the cache; run it again afresh")
        words = [word for word in self.words if not is_unwritten(word)]
        for start, end, frames in self.listened:
            words.extend(particle_words(frames, start, end, self.turns, readouts))
        return replace(self, words=tuple(sorted(words, key=lambda w: (w.start, w.end))))


def _recognised(models: Any, audio: Any) -> tuple[Any, tuple[Any, ...]]:
    """The pipeline's analysis of ``audio`` and what its read-outs read: (start, end, frames)."""
    from unittest import mock

    from lahstats.pipeline.recognisers import whisper
    from lahstats.pipeline.run import analyze_speech

    read: list[tuple[float, float, np.ndarray[Any, Any]]] = []

    def keeping(frames: Any, start: float, end: float, *args: Any) -> list[Word]:
        length = min(len(frames), int((end - start) * FRAME_RATE))
        read.append((start, end, np.asarray(frames[:length], np.float16)))
        return particle_words(frames, start, end, *args)

    with mock.patch.object(whisper, "particle_words", keeping):
        analysis = analyze_speech(models, audio)
    return analysis, tuple(read)


def heard(recordings: Sequence[Recording], cache: Path) -> list[Heard]:
    """Each recording's recognition (words, turns and the frames the read-outs read), run once
    and kept under ``cache``."""
    from lahstats.pipeline.decode import decode_files
    from lahstats.pipeline.run import load_models
    from lahstats.settings import get_settings

    cache.mkdir(parents=True, exist_ok=True)
    out: list[Heard] = []
    models = None
    for recording in recordings:
        path = cache / f"{recording.id}.pkl"
        if path.is_file():
            words, turns, *kept = pickle.loads(path.read_bytes())  # noqa: S301 - our own cache
        else:
            models = models or load_models(get_settings())
            analysis, read = _recognised(models, decode_files([recording.audio]))
            words, turns, kept = analysis.heard, analysis.turns, [read]
            path.write_bytes(pickle.dumps((words, turns, read)))
        out.append(Heard(recording, tuple(words), tuple(turns), *kept))
    return out


@functools.cache  # one lexicon, so correction's rules are made once, not at every score
def _lexicon() -> Lexicon:
    return load_lexicon()


def score(recordings: Sequence[Heard], thresholds: Mapping[str, float]) -> WordScores:
    """Summed target-word scores of ``recordings`` counted with ``thresholds``."""
    lexicon = _lexicon()
    scores = []
    for item in recordings:
        assert item.recording.groundtruth is not None
        counted = recount(item.words, item.turns, lexicon, particle_thresholds=thresholds)
        mapping = map_speakers(reference_turns(item.recording), item.turns)
        counts = {c.speaker: c.counts for c in counted.counts}
        scores.append(word_scores(item.recording.groundtruth, counts, mapping))
    return total_word_scores(scores)


def choose(recordings: Sequence[Heard], *, rounds: int = 2) -> dict[str, float]:
    """Per-particle thresholds by coordinate ascent on summed F1, from the shipped ones."""
    chosen = dict(THRESHOLDS)
    for _ in range(rounds):
        for particle in THRESHOLDS:
            best = max(
                CANDIDATES,
                key=lambda value: (score(recordings, {**chosen, particle: value}).f1, -value),
            )
            chosen[particle] = best
    return chosen


def _scored(
    dataset: Path, cache: Path, readouts: Sequence[ParticleReadout] | None = None
) -> list[Heard]:
    """The recognitions of ``dataset``'s recordings with exact ground truth and an RTTM, heard
    by ``readouts`` where given (else as cached)."""
    items = heard([r for r in load_dataset(dataset) if r.exact and r.rttm], cache)
    return items if readouts is None else [item.read_by(readouts) for item in items]


def _words_at(value: float) -> dict[str, float]:
    return dict.fromkeys(WORD_LABELS[1:], value)


def _row(name: str, scores: WordScores) -> str:
    parts = " ".join(
        f"{word} {t.tp}/{t.fp}/{t.fn}" for word, t in scores.per_word.items() if word in THRESHOLDS
    )
    return f"{name:<22} P {scores.precision:.3f} R {scores.recall:.3f} F1 {scores.f1:.3f} | {parts}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument(
        "--confirm", type=Path, action="append", default=[], help="a set only scored"
    )
    parser.add_argument("--confirm-cache", type=Path, action="append", default=[])
    parser.add_argument(
        "--sweep", metavar="LABEL", help="only print F1 for each threshold of this one label"
    )
    parser.add_argument("--readout", type=Path, help="score this particles' read-out instead")
    parser.add_argument("--word-readout", type=Path, help="score this words' read-out instead")
    args = parser.parse_args(argv)
    readouts = None
    if args.readout or args.word_readout:
        readouts = (
            ParticleReadout.load(args.readout or DEFAULT_WEIGHTS, LABELS),
            ParticleReadout.load(args.word_readout or WORD_WEIGHTS, WORD_LABELS),
        )
    chosen_on = _scored(args.dataset, args.cache, readouts)
    confirmed = zip(args.confirm, args.confirm_cache, strict=True)
    if args.sweep:
        named = [(str(args.dataset), chosen_on)] + [
            (str(dataset), _scored(dataset, cache, readouts)) for dataset, cache in confirmed
        ]
        for value in CANDIDATES:
            f1s = [score(items, {**THRESHOLDS, args.sweep: value}).f1 for _, items in named]
            rows = zip(named, f1s, strict=True)
            print(args.sweep, value, " ".join(f"{name} {f1:.3f}" for (name, _), f1 in rows))
        return
    never = dict.fromkeys(THRESHOLDS, 1.01)
    particles_only = {**THRESHOLDS, **_words_at(1.01)}
    print(_row("recogniser alone", score(chosen_on, never)))
    print(_row("particles only", score(chosen_on, particles_only)))
    print(_row("shipped thresholds", score(chosen_on, THRESHOLDS)))
    print(
        "one threshold for every word of the words' read-out:",
        ", ".join(
            f"{value} {score(chosen_on, {**THRESHOLDS, **_words_at(value)}).f1:.3f}"
            for value in CANDIDATES
        ),
    )
    chosen = choose(chosen_on)
    print(_row("chosen thresholds", score(chosen_on, chosen)))
    print("chosen:", chosen)
    for dataset, cache in confirmed:
        confirm = _scored(dataset, cache, readouts)
        print(f"-- {dataset}")
        for name, thresholds in (
            ("recogniser alone", never),
            ("particles only", particles_only),
            ("shipped", THRESHOLDS),
            ("chosen", chosen),
        ):
            print(_row(name, score(confirm, thresholds)))


if __name__ == "__main__":
    main()
