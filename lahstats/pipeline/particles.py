"""Sentence particles heard in the recogniser's own encoder, where it wrote none.

Whisper primed with Singlish still leaves most particles unwritten ("Go Maxwell lah, the
chicken rice..." comes out "Go Maxwell, the chicken rice..."), yet its encoder has heard them.
A linear read-out of the encoder's frames (each frame with the average of the 0.2 s around it
and of the 0.3 s before and after) tells "lah", "lor", "leh", "meh", "hor", "ah", "sia" and
no particle apart; its peaks, one per second at most, are particles said there. The read-out is
fitted on speech we synthesise (``lahstats.evaluation.particle_training``), never on the
evaluation sets, and ships as ``particles.npz`` beside this module (numpy alone runs it).

A second read-out of the same frames, fitted the same way (``particle_training --words``,
``words.npz``), hears the multi-syllable targets and "can", which the recogniser often writes
as English no correction can map back ("Shia" for shiok, "landio" for lanjiao); its words are
only ever added, never used to refuse what was written.

The recogniser passes the encoder frames it computed anyway, so hearing particles costs no
second pass. A particle the read-out hears becomes a ``Word`` with ``heard=UNWRITTEN``: nothing
was written there. After correction, ``with_particles`` lets the read-out confirm or refuse the
particles the recogniser wrote and adds those it heard that nobody wrote, so a particle is
counted once whichever of the two found it.

Must never download or train anything at run time: a missing weights file is
``ModelUnavailable``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.count import tokens
from lahstats.pipeline.intervals import Spans, TurnIndex
from lahstats.pipeline.types import Turn, Word

FRAME_RATE = 50  # Whisper's encoder frames per second
# Index 0 is "no particle"; the others in the order the read-out's classes were fitted.
LABELS = ("", "lah", "lor", "leh", "meh", "hor", "ah", "sia")
PARTICLES = frozenset(LABELS[1:])
DEFAULT_WEIGHTS = Path(__file__).with_name("particles.npz")
# The words' read-out: the targets a recogniser misspells beyond correction ("Shia" for shiok,
# "landio" for lanjiao) and "can" said on its own, heard the same way in the same frames.
WORD_LABELS = ("", "walao", "cheebai", "lanjiao", "can", "paiseh", "shiok", "sian", "alamak",
               "aiyo", "bodoh", "kiasu", "kiasi", "bojio")  # fmt: skip
WORD_WEIGHTS = Path(__file__).with_name("words.npz")
# Written words that count only where a read-out heard them too: the particles, and "sian",
# which the recogniser primed with it writes for the name "Sean" (the held-out set: 8
# times). Confirming "sian" lost no true one on gen2 (12 of 12 heard), gen1 or dev, and
# refused 1 false one on gen1 and 2 on dev; confirming every word lost true ones (dev 0.745
# -> 0.721), as the recogniser spells long words right where the read-out is unsure.
CONFIRMED = PARTICLES | {"sian"}
# Particles the particles' read-out also hears inside words ("Sian", "kiasi", "kiasu"): one
# heard where the words' read-out heard a word (at its threshold) is that word's syllable.
# Chosen on seed 2 (sia 24/8/3 -> 24/3/3 tp/fp/fn, F1 0.764 -> 0.770), confirmed on seed 1
# (0.783 -> 0.787) and dev (0.750 -> 0.758), no true "sia" lost. The same for every particle
# also drops true "ah" said after words ("Paiseh ah"): seed 2 0.772, seed 1 0.789, dev 0.750.
IN_WORDS = frozenset({"sia"})
# The words' read-out's words (not "can", which it learnt only where it ends a piece: "can
# you..." goes unheard) count, where the recogniser wrote them with a probability under
# ``UNSURE``, only where a read-out heard them too: a prompted recogniser writes them over
# speech where they were not said ("bojio" 0.01, "Paiseh" 0.02 on words of a line without
# them). On seed 2 it refused 13 false words and no true one at any value from 0.1 to 0.5
# (summed F1 0.773 -> 0.781-0.782, 0.2 the lowest on that plateau); with "can" too, not one
# false "can" more went (8 stayed). Confirmed on seed 1 (0.770 -> 0.794) and dev (0.739 ->
# 0.776). Every written word, whatever its probability, lost true ones (docs/accuracy.md).
UNSURE_CONFIRMED = frozenset(WORD_LABELS[1:]) - {"can"}
UNSURE = 0.2
# What ``Word.heard`` holds for a particle heard by the read-out: the recogniser wrote nothing.
UNWRITTEN = ""
# Peaks this probable are kept with the recognition (so a recount may use other thresholds);
# each particle is counted from its own threshold up (``THRESHOLDS``).
FLOOR = 0.5
# The probability from which a heard particle counts, chosen per particle on our own generated
# speech (``python -m lahstats.evaluation.particle_thresholds /tmp/gen/s2``, seed 2: summed F1
# 0.652 without the read-out, 0.724 with it) and confirmed on seed 1 (0.748 -> 0.784) and dev
# (0.669 -> 0.745). Only "ah" counts well below certainty: any value from 0.6 to 0.99 gives
# seed 2 0.764-0.768 with both read-outs (the tool's ``--sweep ah``), and 0.6 finds the most
# (0.8: seed 1 +0.009, dev +0.000, but 4 fewer of the 13 "ah" of the real monologue part 2).
THRESHOLDS: dict[str, float] = {
    "lah": 0.98,
    "lor": 0.99,
    "leh": 0.98,
    "meh": 0.98,
    "hor": 0.99,
    "ah": 0.6,
    "sia": 0.99,
    # The words' read-out: one threshold for all its words, chosen on seed 2 (0.7-0.99: summed F1
    # 0.716-0.764, 0.713 without it) and confirmed on seed 1 (0.748 -> 0.780) and dev (0.729 ->
    # 0.745). Chosen one by one, 10 of the 13 words took 0.99 too; the other three rest on one
    # to three examples each, too few to set a threshold of their own.
    **dict.fromkeys(WORD_LABELS[1:], 0.99),
}
# Two peaks closer than this (frames, 1 s) are one particle: a long or rising one ("Really
# ah?") peaks more than once. Chosen on seed 2 (frames -> summed F1: 20 -> 0.782, 40 -> 0.785,
# 50 -> 0.787, 60 -> 0.790, 75 -> 0.780, 100 -> 0.777), the middle of its plateau; seed 1
# 0.794 -> 0.795, dev 0.776 -> 0.779.
SPACING = 50
# The words' read-out's: 0.6 s (30 frames; 40, 50 and 75 gave seed 2 the same, within 0.003).
WORD_SPACING = 30
# A written particle this close (seconds) to a heard one, same speaker, is the same particle.
SAME_PARTICLE = 0.6
# Averaging windows, in frames relative to the frame: around it, before it, after it.
_WINDOWS = ((-5, 6), (-20, -5), (6, 21))


def pooled(frames: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Each frame as the mean of the frames around it, before it and after it (T x 3D)."""
    frames = np.asarray(frames, dtype=np.float32)
    count = len(frames)
    summed = np.vstack([np.zeros((1, frames.shape[1]), np.float32), np.cumsum(frames, axis=0)])
    at = np.arange(count)
    parts = []
    for low, high in _WINDOWS:
        lo = np.clip(at + low, 0, count)
        hi = np.clip(at + high, 0, count)
        size = np.maximum(hi - lo, 1)[:, None].astype(np.float32)
        parts.append((summed[hi] - summed[lo]) / size)
    return np.hstack(parts)


@dataclass(frozen=True, slots=True)
class ParticleReadout:
    """A standardiser and a multinomial logistic regression over pooled encoder frames."""

    mean: np.ndarray[Any, np.dtype[np.float32]]
    scale: np.ndarray[Any, np.dtype[np.float32]]
    weights: np.ndarray[Any, np.dtype[np.float32]]  # classes x features
    bias: np.ndarray[Any, np.dtype[np.float32]]
    labels: tuple[str, ...] = LABELS  # what each class is; index 0 is "nothing"

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            mean=self.mean,
            scale=self.scale,
            weights=self.weights,
            bias=self.bias,
            labels=np.array(self.labels),
        )

    @classmethod
    def load(
        cls, path: Path = DEFAULT_WEIGHTS, labels: tuple[str, ...] = LABELS
    ) -> ParticleReadout:
        try:
            with np.load(path) as data:
                found = tuple(str(label) for label in data["labels"])
                readout = cls(data["mean"], data["scale"], data["weights"], data["bias"], found)
        except (OSError, KeyError, ValueError) as error:
            raise ModelUnavailable(
                f"the particle read-out cannot be read from {path}: {error}",
                hint="Reinstall lahstats, or remake it: python -m "
                "lahstats.evaluation.particle_training",
            ) from error
        if found != labels or readout.weights.shape != (len(labels), len(readout.mean)):
            raise ModelUnavailable(
                f"{path} was fitted for other labels or frames ({found})",
                hint="Remake it: python -m lahstats.evaluation.particle_training",
            )
        return readout

    @property
    def spacing(self) -> int:
        """Frames within which two peaks are one: ``SPACING`` for particles, ``WORD_SPACING``
        for words."""
        return SPACING if self.labels == LABELS else WORD_SPACING

    def posteriors(self, frames: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Per frame, the probability of each label (T x len(labels))."""
        if len(frames) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        logits = ((pooled(frames) - self.mean) / self.scale) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        probabilities: np.ndarray[Any, np.dtype[np.float32]] = (
            odds / odds.sum(axis=1, keepdims=True)
        ).astype(np.float32)
        return probabilities


@cache
def bundled_readout() -> ParticleReadout:
    return ParticleReadout.load(DEFAULT_WEIGHTS)


@cache
def bundled_word_readout() -> ParticleReadout:
    return ParticleReadout.load(WORD_WEIGHTS, WORD_LABELS)


@dataclass(frozen=True, slots=True)
class HeardParticle:
    particle: str
    at: float  # seconds from the start of the frames
    probability: float


def peaks(
    posteriors: np.ndarray[Any, Any],
    *,
    threshold: float = FLOOR,
    spacing: int = SPACING,
    labels: Sequence[str] = LABELS,
) -> list[HeardParticle]:
    """The most probable particle frames, strongest first, no two within ``spacing`` frames."""
    if len(posteriors) == 0:
        return []
    best = posteriors[:, 1:].max(axis=1)
    which = posteriors[:, 1:].argmax(axis=1)
    taken = np.zeros(len(best), dtype=bool)
    found: list[HeardParticle] = []
    for frame in np.argsort(-best, kind="stable"):
        if best[frame] < threshold:
            break
        if taken[max(0, frame - spacing) : frame + spacing + 1].any():
            continue
        taken[frame] = True
        found.append(
            HeardParticle(labels[which[frame] + 1], frame / FRAME_RATE, float(best[frame]))
        )
    return sorted(found, key=lambda heard: heard.at)


def particle_words(
    frames: np.ndarray[Any, Any],
    start: float,
    end: float,
    turns: Sequence[Turn] | TurnIndex,
    readouts: Sequence[ParticleReadout],
) -> list[Word]:
    """What the read-outs heard in the encoder ``frames`` of ``start..end`` (recording
    seconds): a ``listened`` mark over the span, then each particle or word as a word of the
    turn it falls in (``heard=UNWRITTEN``)."""
    length = min(len(frames), int((end - start) * FRAME_RATE))
    words = [listened(float(start), float(start + length / FRAME_RATE))]
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    for readout in readouts:
        posteriors = readout.posteriors(frames[:length])
        for heard in peaks(posteriors, spacing=readout.spacing, labels=readout.labels):
            at = float(start + heard.at)
            speaker = index.speaker_at(at - 0.1, at + 0.1)
            if speaker is not None:
                words.append(
                    Word(heard.particle, at - 0.1, at + 0.1, speaker, heard.probability, UNWRITTEN)
                )
    return words


def listened(start: float, end: float) -> Word:
    """The mark that the read-out listened to ``start..end``: a word with no text and no
    speaker. Where a recognition has none (the read-out off, or a recognition stored before
    it existed), written particles are counted as written."""
    return Word("", start, end, "", 1.0, UNWRITTEN)


def is_unwritten(word: Word) -> bool:
    return word.heard == UNWRITTEN


def _near(word: Word, middle: float) -> bool:
    return abs((word.start + word.end) / 2 - middle) <= SAME_PARTICLE


class _Near:
    """Words by their middles: ``around(middle)`` are those ``_near`` it, in O(log n)."""

    def __init__(self, words: Sequence[Word]) -> None:
        self._words = sorted(words, key=lambda word: (word.start + word.end) / 2)
        self._middles = [(word.start + word.end) / 2 for word in self._words]

    def around(self, middle: float) -> list[Word]:
        lo = bisect.bisect_left(self._middles, middle - SAME_PARTICLE - 1e-9)
        hi = bisect.bisect_right(self._middles, middle + SAME_PARTICLE + 1e-9)
        return [word for word in self._words[lo:hi] if _near(word, middle)]


def with_particles(
    written: Sequence[Word],
    unwritten: Sequence[Word],
    tracked: frozenset[str],
    thresholds: Mapping[str, float] = THRESHOLDS,
    unsure: float = UNSURE,
) -> tuple[Word, ...]:
    """The corrected ``written`` words, checked and completed by what the read-outs heard.

    - A particle (or "sian", ``CONFIRMED``), or a word of the words' read-out written with a
      probability under ``unsure`` (``UNSURE_CONFIRMED``), written where the read-outs
      listened counts only if they heard it there too (any speaker, ``SAME_PARTICLE`` s, at
      ``FLOOR`` or over): the recogniser, primed with them, also writes them over English
      ("help meh?" for "help me?", "Sian" for "Sean", "bojio" over a line with none).
    - A particle or word heard at or over its threshold that the same speaker did not write
      within ``SAME_PARTICLE`` s is added. Other written words, and words written surely, are
      never refused: the recogniser spells most of them right where the words' read-out is
      unsure.
    - A heard "sia" (``IN_WORDS``) is not added where the words' read-out heard a word of the
      same speaker at that word's threshold within ``SAME_PARTICLE`` s: the particles'
      read-out hears "sia" in "Sian", "kiasi" and "kiasu" too.
    """
    spans = Spans([(word.start, word.end) for word in unwritten if not word.text])
    heard = [word for word in unwritten if word.text in tracked]
    heard_near = _Near(heard)
    kept: list[Word] = []
    for word in written:
        middle = (word.start + word.end) / 2
        confirmed = CONFIRMED | UNSURE_CONFIRMED if word.probability < unsure else CONFIRMED
        said = set(tokens(word.text)) & confirmed & tracked
        if (
            said
            and spans.holding(middle)
            and not any(other.text in said for other in heard_near.around(middle))
        ):
            continue
        kept.append(word)
    counted = [word for word in heard if word.probability >= thresholds.get(word.text, 1.0)]
    words = _Near([word for word in counted if word.text not in PARTICLES])
    kept_near = _Near(kept)
    added: list[Word] = []
    for particle in counted:
        middle = (particle.start + particle.end) / 2
        if any(
            word.speaker == particle.speaker and particle.text in tokens(word.text)
            for word in kept_near.around(middle)
        ):
            continue
        if particle.text in IN_WORDS and any(
            word.speaker == particle.speaker for word in words.around(middle)
        ):
            continue
        added.append(particle)
    return tuple(sorted((*kept, *added), key=lambda word: (word.start, word.end)))
