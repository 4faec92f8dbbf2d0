from __future__ import annotations

import json

import pytest

from lahstats.evaluation.metrics import DERResult, WordScores
from lahstats.evaluation.report import EvalReport, RecordingResult, render_table

OVERALL_KEYS = {
    "word_precision", "word_recall", "word_f1", "der", "der_collar", "speaker_count_accuracy",
    "wer", "rtf", "audio_seconds", "peak_rss_mb",
}  # fmt: skip
RECORDING_KEYS = {
    "id", "der", "der_collar", "n_speakers_ref", "n_speakers_hyp", "word_tp", "word_fp",
    "word_fn", "wer", "rtf",
}  # fmt: skip


def result(
    name: str,
    kind: str,
    *,
    exact: bool = True,
    error: float = 0.0,
    speech: float = 10.0,
    words: WordScores | None = None,
    word_errors: tuple[int, int] | None = None,
    speakers: tuple[int | None, int] = (2, 2),
) -> RecordingResult:
    return RecordingResult(
        id=name,
        kind=kind,
        exact=exact,
        audio_seconds=speech,
        elapsed=speech / 10,
        peak_rss_mb=100.0,
        der=DERResult(missed=error, false_alarm=0.0, confusion=0.0, total=speech),
        der_collar=DERResult(missed=error / 2, false_alarm=0.0, confusion=0.0, total=speech),
        n_speakers_ref=speakers[0],
        n_speakers_hyp=speakers[1],
        words=words,
        word_errors=word_errors,
    )


REPORT = EvalReport(
    recordings=(
        result("conv", "synthetic_conversation", error=1.0, speech=10.0,
               words=WordScores(4, 0, 0, {"lah": WordScores(4, 0, 0)}), word_errors=(1, 10)),
        result("session", "synthetic_session", error=0.0, speech=30.0,
               words=WordScores(0, 0, 4, {"lor": WordScores(0, 0, 4)}), word_errors=(9, 30),
               speakers=(3, 2)),
        result("monologue", "real", exact=False, error=6.0, speech=20.0,
               words=WordScores(0, 5, 0, {"lah": WordScores(0, 5, 0)}), speakers=(None, 1)),
    ),
    collar=0.5,
)  # fmt: skip


def test_json_has_the_promised_keys_and_survives_json() -> None:
    document = json.loads(json.dumps(REPORT.to_json()))
    assert set(document["overall"]) >= OVERALL_KEYS
    assert len(document["recordings"]) == 3
    for recording in document["recordings"]:
        assert set(recording) >= RECORDING_KEYS
    assert set(document["by_kind"]) == {"synthetic", "real"}
    assert set(document["by_kind"]["real"]) >= OVERALL_KEYS


def test_overall_figures_are_micro_averages() -> None:
    overall = REPORT.to_json()["overall"]
    # DER: (1 + 0 + 6) error seconds over 60 s of speech, not the mean of 10%, 0% and 30%.
    assert overall["der"] == pytest.approx(7 / 60)
    assert overall["der_collar"] == pytest.approx(3.5 / 60)
    # Words: the two exact recordings only (tp 4, fn 4); the silver one's 5 fp are left out.
    assert (overall["word_precision"], overall["word_recall"]) == pytest.approx((1.0, 0.5))
    assert overall["word_f1"] == pytest.approx(8 / 12)
    assert overall["word_f1_including_silver"] == pytest.approx(8 / 17)
    assert overall["wer"] == pytest.approx(10 / 40)  # word-weighted
    assert overall["speaker_count_accuracy"] == pytest.approx(0.5)  # monologue's count unknown
    assert overall["rtf"] == pytest.approx(0.1)
    assert overall["audio_seconds"] == pytest.approx(60.0)
    per_word = REPORT.to_json()["per_word"]
    assert (per_word["lah"]["tp"], per_word["lah"]["fp"]) == (4, 0)
    assert per_word["lor"]["fn"] == 4


def test_figures_by_kind() -> None:
    by_kind = REPORT.to_json()["by_kind"]
    assert by_kind["synthetic"]["der"] == pytest.approx(1 / 40)
    assert by_kind["real"]["der"] == pytest.approx(6 / 20)
    assert by_kind["real"]["word_f1"] is None  # no exact ground truth among the real ones
    assert by_kind["real"]["wer"] is None


def test_refused_recording_is_reported_not_scored() -> None:
    refused = RecordingResult("bad.wav", "real", False, 0.0, 0.01, 90.0, error="not audio")
    report = EvalReport(recordings=(*REPORT.recordings, refused), collar=0.5)
    overall = report.to_json()["overall"]
    assert overall["der"] == pytest.approx(7 / 60)
    assert (overall["n_recordings"], overall["n_failed"]) == (4, 1)
    assert "refused: not audio" in render_table(report)
    assert refused.summary() == "refused: not audio"


def test_summary_line() -> None:
    assert REPORT.recordings[0].summary() == (
        "DER 10.0% (collar 5.0%), speakers 2/2, words tp 4 fp 0 fn 0 F1 1.00, WER 10.0%, RTF 0.10"
    )


def test_table_has_a_row_per_recording_and_summed_rows() -> None:
    lines = render_table(REPORT).splitlines()
    rows = {line.split()[0]: line for line in lines if line and line[0].isalpha()}
    assert {"conv", "session", "monologue", "overall", "synthetic", "real"} <= set(rows)
    assert "10.0%" in rows["conv"]
    assert "2/2" in rows["conv"]
    assert "11.7%" in rows["overall"]
    widths = {len(line) for line in lines[:-1] if line.strip()}
    assert len(widths) == 1  # fixed width
