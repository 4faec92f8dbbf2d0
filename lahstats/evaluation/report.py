"""The results of an evaluation run: per recording, summed over the set, as JSON and as a table.

Sums are micro-averages of raw parts: DER is error seconds over reference speech seconds, word
scores are summed tp/fp/fn (over recordings whose ground truth is exact), WER is edits over
reference words (word-weighted, so long transcripts weigh more), RTF is compute seconds over audio
seconds. Figures are also split by family (synthetic, real) because their targets differ
(DER <= 5% synthetic, <= 10% real). This module only formats; it runs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lahstats.evaluation.metrics import (
    NO_SPEECH,
    DERResult,
    WordScores,
    speaker_count_accuracy,
    total_word_scores,
)


@dataclass(frozen=True, slots=True)
class RecordingResult:
    """What the pipeline got on one recording and how it scored (``None``: no reference)."""

    id: str
    kind: str
    exact: bool  # word scores count towards the overall ones
    audio_seconds: float
    elapsed: float  # wall-clock seconds of the analysis
    peak_rss_mb: float  # the process's peak so far, not this recording's alone
    der: DERResult | None = None
    der_collar: DERResult | None = None
    n_speakers_ref: int | None = None
    n_speakers_hyp: int | None = None
    words: WordScores | None = None
    word_errors: tuple[int, int] | None = None  # WER's edits and reference words
    speaker_mapping: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # why the analysis was refused, if it was

    @property
    def family(self) -> str:
        return self.kind.split("_", 1)[0]

    @property
    def rtf(self) -> float | None:
        return self.elapsed / self.audio_seconds if self.audio_seconds > 0 else None

    @property
    def wer(self) -> float | None:
        return None if self.word_errors is None else self.word_errors[0] / self.word_errors[1]

    def summary(self) -> str:
        """One line for progress output, e.g. ``DER 3.1% (collar 1.2%), speakers 2/2, ...``."""
        if self.error is not None:
            return f"refused: {self.error}"
        parts = []
        if self.der is not None:
            parts.append(
                f"DER {_percent(_rate(self.der))} (collar {_percent(_rate(self.der_collar))})"
            )
        parts.append(f"speakers {_count(self.n_speakers_ref)}/{_count(self.n_speakers_hyp)}")
        if self.words is not None:
            words = self.words
            parts.append(f"words tp {words.tp} fp {words.fp} fn {words.fn} F1 {words.f1:.2f}")
        if self.wer is not None:
            parts.append(f"WER {_percent(self.wer)}")
        parts.append(f"RTF {_fraction(self.rtf)}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        words = self.words
        return {
            "id": self.id,
            "kind": self.kind,
            "exact": self.exact,
            "der": _rate(self.der),
            "der_collar": _rate(self.der_collar),
            "der_detail": None if self.der is None else _der_detail(self.der),
            "n_speakers_ref": self.n_speakers_ref,
            "n_speakers_hyp": self.n_speakers_hyp,
            "speaker_mapping": dict(self.speaker_mapping),
            "word_tp": None if words is None else words.tp,
            "word_fp": None if words is None else words.fp,
            "word_fn": None if words is None else words.fn,
            "word_precision": None if words is None else words.precision,
            "word_recall": None if words is None else words.recall,
            "word_f1": None if words is None else words.f1,
            "wer": self.wer,
            "rtf": self.rtf,
            "audio_seconds": self.audio_seconds,
            "elapsed_s": self.elapsed,
            "peak_rss_mb": self.peak_rss_mb,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Every recording's result, and the collar (pyannote's total width) used for der_collar."""

    recordings: tuple[RecordingResult, ...]
    collar: float

    def to_json(self) -> dict[str, Any]:
        exact_words = total_word_scores(r.words for r in self.recordings if r.exact and r.words)
        families = sorted({result.family for result in self.recordings})
        return {
            "overall": summarise(self.recordings),
            "by_kind": {
                family: summarise(r for r in self.recordings if r.family == family)
                for family in families
            },
            "per_word": {word: _word_json(tally) for word, tally in exact_words.per_word.items()},
            "collar": self.collar,
            "recordings": [result.to_json() for result in self.recordings],
        }


def summarise(results: Iterable[RecordingResult]) -> dict[str, Any]:
    """The set's figures; a figure no recording has a reference for is ``None``."""
    results = tuple(results)
    scored = [r for r in results if r.error is None]
    exact = [r.words for r in scored if r.exact and r.words is not None]
    any_truth = [r.words for r in scored if r.words is not None]
    exact_words = total_word_scores(exact) if exact else None
    with_der = [r.der for r in scored if r.der is not None]
    with_collar = [r.der_collar for r in scored if r.der_collar is not None]
    with_text = [r.word_errors for r in scored if r.word_errors is not None]
    audio_seconds = sum(r.audio_seconds for r in results)
    elapsed = sum(r.elapsed for r in results)
    return {
        "word_precision": None if exact_words is None else exact_words.precision,
        "word_recall": None if exact_words is None else exact_words.recall,
        "word_f1": None if exact_words is None else exact_words.f1,
        "word_f1_including_silver": total_word_scores(any_truth).f1 if any_truth else None,
        "der": _rate(sum(with_der, NO_SPEECH)) if with_der else None,
        "der_collar": _rate(sum(with_collar, NO_SPEECH)) if with_collar else None,
        "speaker_count_accuracy": speaker_count_accuracy(
            [(r.n_speakers_ref, r.n_speakers_hyp) for r in scored if r.n_speakers_hyp is not None]
        ),
        "wer": (
            sum(errors for errors, _ in with_text) / sum(words for _, words in with_text)
            if with_text
            else None
        ),
        "rtf": elapsed / audio_seconds if audio_seconds > 0 else None,
        "audio_seconds": audio_seconds,
        "elapsed_s": elapsed,
        "peak_rss_mb": max((r.peak_rss_mb for r in results), default=None),
        "n_recordings": len(results),
        "n_failed": len(results) - len(scored),
    }


_COLUMNS = (  # title, width; the first two are left-aligned
    ("recording", 28),
    ("kind", 11),
    ("DER", 6),
    ("DERc", 6),
    ("spk", 6),
    ("tp", 4),
    ("fp", 4),
    ("fn", 4),
    ("F1", 5),
    ("WER", 6),
    ("RTF", 5),
)


def render_table(report: EvalReport) -> str:
    """A fixed-width table for a terminal: one row per recording, then the summed rows."""
    header = _row(title for title, _ in _COLUMNS)
    rule = "-" * len(header)
    lines = [header, rule]
    for result in report.recordings:
        words = result.words
        row = _row(
            [
                result.id,
                result.family,
                _percent(_rate(result.der)),
                _percent(_rate(result.der_collar)),
                f"{_count(result.n_speakers_ref)}/{_count(result.n_speakers_hyp)}",
                _count(None if words is None else words.tp),
                _count(None if words is None else words.fp),
                _count(None if words is None else words.fn),
                _fraction(None if words is None else words.f1),
                _percent(result.wer),
                _fraction(result.rtf),
            ]
        )
        lines.append(row + (f"  refused: {result.error}" if result.error else ""))
    lines.append(rule)
    summaries = report.to_json()
    for name, summary in [("overall", summaries["overall"]), *summaries["by_kind"].items()]:
        lines.append(
            _row(
                [
                    name,
                    f"{summary['n_recordings']} rec.",
                    _percent(summary["der"]),
                    _percent(summary["der_collar"]),
                    _percent(summary["speaker_count_accuracy"]),
                    "",
                    "",
                    "",
                    _fraction(summary["word_f1"]),
                    _percent(summary["wer"]),
                    _fraction(summary["rtf"]),
                ]
            )
        )
    lines.append(
        f"DERc: collar {report.collar:g} s in all, as pyannote counts it. spk: reference/hypothesis"
        " speakers; in summed rows, the share that agree. Summed F1: exact ground truth only."
    )
    return "\n".join(lines)


def _row(cells: Iterable[str]) -> str:
    return " ".join(
        f"{cell[:width]:<{width}}" if position < 2 else f"{cell[:width]:>{width}}"
        for position, (cell, (_, width)) in enumerate(zip(cells, _COLUMNS, strict=True))
    )


def _rate(result: DERResult | None) -> float | None:
    return None if result is None else result.der


def _der_detail(result: DERResult) -> dict[str, float]:
    return {
        "missed_s": result.missed,
        "false_alarm_s": result.false_alarm,
        "confusion_s": result.confusion,
        "reference_speech_s": result.total,
    }


def _word_json(scores: WordScores) -> dict[str, Any]:
    return {
        "tp": scores.tp,
        "fp": scores.fp,
        "fn": scores.fn,
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
