"""The scores of one recording: diarization error, speaker mapping, target-word counts and WER.

Pure functions over turns, counts and texts; they read no files and run no model, so each can be
checked against answers worked out by hand. Every score that sums over recordings keeps its raw
parts (seconds, counts, edits) so datasets are micro-averaged, never averaged over ratios.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import jiwer
import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from scipy.optimize import linear_sum_assignment

from lahstats.pipeline.types import Turn

Counts = Mapping[str, Mapping[str, int]]  # {speaker: {word: count}}

# The counting rule of the ground truth (shared/data/README.md), used to normalise texts for WER.
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*")


@dataclass(frozen=True, slots=True)
class DERResult:
    """Diarization errors in seconds; ``total`` is the reference speech they are a share of.

    With no reference speech (``total == 0``) the rate is 0.0 when nothing was hypothesised and
    1.0 otherwise, as pyannote does; the seconds stay exact, so sums over recordings are right.
    """

    missed: float
    false_alarm: float
    confusion: float
    total: float

    @property
    def error(self) -> float:
        return self.missed + self.false_alarm + self.confusion

    @property
    def der(self) -> float:
        if self.total > 0:
            return self.error / self.total
        return 0.0 if self.error <= 0 else 1.0

    def __add__(self, other: DERResult) -> DERResult:
        return DERResult(
            missed=self.missed + other.missed,
            false_alarm=self.false_alarm + other.false_alarm,
            confusion=self.confusion + other.confusion,
            total=self.total + other.total,
        )


NO_SPEECH = DERResult(missed=0.0, false_alarm=0.0, confusion=0.0, total=0.0)


def der(
    reference: Iterable[Turn],
    hypothesis: Iterable[Turn],
    *,
    collar: float = 0.0,
    duration: float | None = None,
) -> DERResult:
    """The diarization error of ``hypothesis`` against ``reference`` (pyannote.metrics).

    ``collar`` follows pyannote's convention: the *total* width of the forgiveness zone, centred
    on every reference boundary, so ``collar=0.5`` forgives +-0.25 s (NIST md-eval's usual
    setting). Overlapped speech is scored (``skip_overlap=False``). Scoring covers 0..``duration``
    when given, else the span of both annotations.
    """
    reference, hypothesis = tuple(reference), tuple(hypothesis)
    ends = [turn.end for turn in (*reference, *hypothesis)]
    extent = duration if duration is not None else max(ends, default=0.0)
    if extent <= 0:
        return NO_SPEECH
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    details = metric(
        _annotation(reference),
        _annotation(hypothesis),
        uem=Timeline([Segment(0.0, extent)]),
        detailed=True,
    )
    return DERResult(
        missed=float(details["missed detection"]),
        false_alarm=float(details["false alarm"]),
        confusion=float(details["confusion"]),
        total=float(details["total"]),
    )


def map_speakers(reference: Iterable[Turn], hypothesis: Iterable[Turn]) -> dict[str, str]:
    """``{hypothesis label: reference label}``, one to one, maximising the time they overlap.

    Hypothesis speakers that overlap no reference speaker, or that are left over because the
    hypothesis has more speakers than the reference, are absent from the mapping.
    """
    reference, hypothesis = tuple(reference), tuple(hypothesis)
    ref_labels = sorted({turn.speaker for turn in reference})
    hyp_labels = sorted({turn.speaker for turn in hypothesis})
    if not ref_labels or not hyp_labels:
        return {}
    overlap = np.zeros((len(hyp_labels), len(ref_labels)))
    hyp_row = {label: row for row, label in enumerate(hyp_labels)}
    ref_column = {label: column for column, label in enumerate(ref_labels)}
    for hyp in hypothesis:
        for ref in reference:
            shared = min(hyp.end, ref.end) - max(hyp.start, ref.start)
            if shared > 0:
                overlap[hyp_row[hyp.speaker], ref_column[ref.speaker]] += shared
    rows, columns = linear_sum_assignment(overlap, maximize=True)
    return {
        hyp_labels[row]: ref_labels[column]
        for row, column in zip(rows, columns, strict=True)
        if overlap[row, column] > 0
    }


@dataclass(frozen=True, slots=True)
class WordScores:
    """Target-word counts scored against the reference: true/false positives, false negatives.

    Where a ratio has nothing to divide by it is 1.0 (no claims: no wrong claims; nothing to
    find: nothing missed), and F1 is ``2tp / (2tp + fp + fn)``, 1.0 only when both sides are
    empty. ``per_word`` holds the same tallies for each word.
    """

    tp: int
    fp: int
    fn: int
    per_word: Mapping[str, WordScores] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 1.0


def word_scores(ref_counts: Counts, hyp_counts: Counts, mapping: Mapping[str, str]) -> WordScores:
    """Score per-speaker counts through ``mapping`` (hypothesis label -> reference label).

    For each reference speaker and word, with the counts of the hypothesis speaker mapped to it:
    tp = min(ref, hyp), fp = the excess, fn = the shortfall. Everything an unmapped hypothesis
    speaker said is a false positive; a reference speaker nobody maps to is all false negatives.
    """
    tallies: list[tuple[str, int, int, int]] = []  # word, tp, fp, fn

    claimed_by: dict[str, str] = {ref: hyp for hyp, ref in mapping.items()}
    for ref_speaker in sorted(set(ref_counts) | set(claimed_by)):
        said = ref_counts.get(ref_speaker, {})
        heard = hyp_counts.get(claimed_by[ref_speaker], {}) if ref_speaker in claimed_by else {}
        for word in sorted(set(said) | set(heard)):
            ref_n, hyp_n = said.get(word, 0), heard.get(word, 0)
            tallies.append((word, min(ref_n, hyp_n), max(0, hyp_n - ref_n), max(0, ref_n - hyp_n)))
    for hyp_speaker, heard in hyp_counts.items():
        if hyp_speaker not in mapping:
            for word, hyp_n in heard.items():
                tallies.append((word, 0, hyp_n, 0))
    return _summed(tallies)


def total_word_scores(scores: Iterable[WordScores]) -> WordScores:
    """Micro-average: the tallies of several recordings (and of each word) summed."""
    return _summed(
        (word, tally.tp, tally.fp, tally.fn)
        for score in scores
        for word, tally in score.per_word.items()
    )


def _summed(tallies: Iterable[tuple[str, int, int, int]]) -> WordScores:
    per_word: dict[str, tuple[int, int, int]] = {}
    for word, tp, fp, fn in tallies:
        old_tp, old_fp, old_fn = per_word.get(word, (0, 0, 0))
        per_word[word] = (old_tp + tp, old_fp + fp, old_fn + fn)
    words = {word: WordScores(*tally) for word, tally in sorted(per_word.items())}
    return WordScores(
        tp=sum(tally.tp for tally in words.values()),
        fp=sum(tally.fp for tally in words.values()),
        fn=sum(tally.fn for tally in words.values()),
        per_word=words,
    )


def normalise(text: str) -> list[str]:
    """The tokens of ``text`` by the counting rule: lower-case, ``[a-z]+('[a-z]+)*``."""
    return _TOKEN.findall(text.lower())


def word_errors(reference_text: str | None, hypothesis_text: str) -> tuple[int, int] | None:
    """(edits, reference words) after normalising both texts; ``None`` without a reference."""
    if reference_text is None:
        return None
    reference = normalise(reference_text)
    if not reference:
        return None
    hypothesis = normalise(hypothesis_text)
    if not hypothesis:
        return len(reference), len(reference)
    output = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return int(output.substitutions + output.deletions + output.insertions), len(reference)


def wer(reference_text: str | None, hypothesis_text: str) -> float | None:
    """Word error rate after normalising both texts; ``None`` without a (non-empty) reference."""
    errors = word_errors(reference_text, hypothesis_text)
    return None if errors is None else errors[0] / errors[1]


def speaker_count_accuracy(pairs: Sequence[tuple[int | None, int]]) -> float | None:
    """Share of (reference, hypothesis) speaker counts that agree, over known references."""
    known = [(reference, hypothesis) for reference, hypothesis in pairs if reference is not None]
    if not known:
        return None
    return sum(reference == hypothesis for reference, hypothesis in known) / len(known)


def _annotation(turns: Iterable[Turn]) -> Annotation:
    annotation = Annotation()
    for track, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), track] = turn.speaker
    return annotation
