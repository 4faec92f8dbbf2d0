"""Run an analysis over an evaluation set, timing it and scoring each recording as it finishes.

The analysis is passed in (``analyze(recording) -> Analysis``), so the runner loads no model and
knows nothing of backends: the CLI builds ``analyze`` from the settings, tests pass a fake. A
recording the analysis refuses as invalid input is reported as refused; other errors propagate,
because a broken model or a bug should stop the run rather than be averaged in.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterable

from lahstats.errors import InvalidInput
from lahstats.evaluation.dataset import Recording, reference_text, reference_turns
from lahstats.evaluation.metrics import der, map_speakers, word_errors, word_scores
from lahstats.evaluation.report import EvalReport, RecordingResult
from lahstats.pipeline.types import Analysis, Turn

# pyannote's collar is the total width around each boundary: 0.5 forgives +-0.25 s, as NIST does.
DEFAULT_COLLAR = 0.5


def evaluate(
    recordings: Iterable[Recording],
    analyze: Callable[[Recording], Analysis],
    *,
    collar: float = DEFAULT_COLLAR,
    on_result: Callable[[RecordingResult], None] | None = None,
) -> EvalReport:
    """Analyse and score every recording in turn; ``on_result`` hears of each as it is done."""
    results = []
    for recording in recordings:
        result = _evaluate_one(recording, analyze, collar)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return EvalReport(recordings=tuple(results), collar=collar)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _evaluate_one(
    recording: Recording, analyze: Callable[[Recording], Analysis], collar: float
) -> RecordingResult:
    started = time.perf_counter()
    try:
        analysis = analyze(recording)
    except InvalidInput as exc:
        return RecordingResult(
            id=recording.id,
            kind=recording.kind,
            exact=recording.exact,
            audio_seconds=recording.duration or 0.0,
            elapsed=time.perf_counter() - started,
            peak_rss_mb=peak_rss_mb(),
            error=str(exc),
        )
    elapsed = time.perf_counter() - started
    duration = analysis.duration if analysis.duration > 0 else (recording.duration or 0.0)
    reference = reference_turns(recording) if recording.rttm is not None else None
    mapping = _speaker_mapping(recording, reference, analysis.turns, duration)
    hypothesis_counts = {counts.speaker: counts.counts for counts in analysis.counts}
    hypothesis_text = " ".join(
        word.text for word in sorted(analysis.words, key=lambda word: word.start)
    )
    n_speakers_ref = recording.n_speakers
    if n_speakers_ref is None and reference is not None:
        n_speakers_ref = len({turn.speaker for turn in reference})
    return RecordingResult(
        id=recording.id,
        kind=recording.kind,
        exact=recording.exact,
        audio_seconds=duration,
        elapsed=elapsed,
        peak_rss_mb=peak_rss_mb(),
        der=None if reference is None else der(reference, analysis.turns, duration=duration),
        der_collar=(
            None
            if reference is None
            else der(reference, analysis.turns, collar=collar, duration=duration)
        ),
        n_speakers_ref=n_speakers_ref,
        n_speakers_hyp=len({turn.speaker for turn in analysis.turns}),
        words=(
            None
            if recording.groundtruth is None or mapping is None
            else word_scores(recording.groundtruth, hypothesis_counts, mapping)
        ),
        word_errors=word_errors(reference_text(recording), hypothesis_text),
        speaker_mapping=mapping or {},
    )


def _speaker_mapping(
    recording: Recording,
    reference: tuple[Turn, ...] | None,
    hypothesis: tuple[Turn, ...],
    duration: float,
) -> dict[str, str] | None:
    """Hypothesis -> reference speakers; ``None`` when there is no way to tell who is who."""
    if reference is not None:
        return map_speakers(reference, hypothesis)
    speakers = tuple(recording.groundtruth or ())
    if len(speakers) == 1:
        # One known speaker without an RTTM: they speak throughout, so the hypothesis speaker
        # heard longest is them, and any other is a false split whose counts are false positives.
        return map_speakers([Turn(speakers[0], 0.0, max(duration, 1e-3))], hypothesis)
    return None
