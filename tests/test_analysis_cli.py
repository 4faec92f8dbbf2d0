"""``lahstats analyze`` and ``lahstats eval`` on the shipped clip, with the real embedded models."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from click.testing import CliRunner

from lahstats.cli import main
from lahstats.cli.analysis import ProgressBar

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "audio"
CLIP = FIXTURES / "two_speakers.flac"
TRUTH: dict[str, Any] = json.loads((FIXTURES / "two_speakers.json").read_text())


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LAHSTATS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LAHSTATS_LOG_LEVEL", "warning")
    return CliRunner()


def test_progress_bar_writes_one_line_per_stage_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for stage, percent in [("decode", 5), ("decode", 10), ("diarize", 20), ("sample", 100)]:
        bar(stage, percent, 100)
    assert stream.getvalue().splitlines() == ["  5% decode", " 20% diarize", "100% sample"]


def test_analyze_prints_speakers_counts_and_writes_rttm_and_samples(
    runner: CliRunner, tmp_path: Path
) -> None:
    rttm = tmp_path / "out.rttm"
    samples = tmp_path / "samples"
    result = runner.invoke(
        main, ["analyze", str(CLIP), "--json", "--rttm", str(rttm), "--samples", str(samples)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration_seconds"] == pytest.approx(16.49, abs=0.05)
    assert len(data["speakers"]) == 2
    assert sum(s["speaking_seconds"] for s in data["speakers"]) > 8
    assert data["transcript"], "no transcript lines"
    assert data["models"]["transcriber"]
    lines = rttm.read_text().splitlines()
    assert lines
    assert all(line.startswith("SPEAKER two_speakers 1 ") for line in lines)
    clips = sorted(samples.iterdir())
    assert len(clips) == 2
    assert all(clip.stat().st_size > 1000 for clip in clips)


def test_analyze_several_files_are_one_recording_and_hints_are_honoured(
    runner: CliRunner, tmp_path: Path
) -> None:
    audio, rate = sf.read(CLIP, dtype="float32")
    half = len(audio) // 2
    sf.write(tmp_path / "part0.wav", audio[:half], rate)
    sf.write(tmp_path / "part1.ogg", audio[half:], rate)
    result = runner.invoke(
        main,
        ["analyze", str(tmp_path / "part0.wav"), str(tmp_path / "part1.ogg"), "--speakers", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "1 speaker(s)" in result.stdout
    assert "Transcript" in result.stdout


def test_analyze_refuses_text_posing_as_audio(runner: CliRunner, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("walao lah lor shiok " * 20)
    result = runner.invoke(main, ["analyze", str(fake)])
    assert result.exit_code == 1
    assert "not audio" in result.output
    assert "walao" not in result.stdout


def test_analyze_rejects_contradictory_hints(runner: CliRunner) -> None:
    result = runner.invoke(main, ["analyze", str(CLIP), "--speakers", "2", "--max-speakers", "3"])
    assert result.exit_code == 2
    assert "either --speakers or" in result.output


def test_eval_scores_a_dataset_and_writes_the_json_shape(runner: CliRunner, tmp_path: Path) -> None:
    turns = TRUTH["turns"]
    (tmp_path / "clip.rttm").write_text(
        "".join(
            f"SPEAKER clip 1 {t['start']:.2f} {t['end'] - t['start']:.2f} <NA> <NA> "
            f"{t['speaker']} <NA> <NA>\n"
            for t in turns
        )
    )
    truth = {"A": {"walao": 1, "lah": 1}, "B": {"lor": 1, "can": 1}}
    (tmp_path / "clip.groundtruth.json").write_text(json.dumps(truth))
    segments = [{k: t[k] for k in ("speaker", "start", "end", "text")} for t in turns]
    (tmp_path / "clip.transcript.json").write_text(json.dumps({"segments": segments}))
    entry = {
        "id": "clip",
        "kind": "synthetic_conversation",
        "audio": str(CLIP),
        "rttm": "clip.rttm",
        "transcript": "clip.transcript.json",
        "groundtruth": "clip.groundtruth.json",
        "groundtruth_quality": "exact (by construction)",
        "n_speakers": 2,
    }
    (tmp_path / "index.json").write_text(json.dumps({"entries": [entry]}))
    out = tmp_path / "eval.json"
    result = runner.invoke(main, ["eval", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["overall"]) >= {
        "word_precision", "word_recall", "word_f1", "der", "der_collar",
        "speaker_count_accuracy", "wer", "rtf", "audio_seconds", "peak_rss_mb",
    }  # fmt: skip
    (recording,) = report["recordings"]
    assert set(recording) >= {
        "id", "der", "der_collar", "n_speakers_ref", "n_speakers_hyp",
        "word_tp", "word_fp", "word_fn", "wer", "rtf",
    }  # fmt: skip
    assert recording["n_speakers_ref"] == 2
    assert 0 <= recording["der"] < 0.5
    assert recording["wer"] is not None
    assert recording["wer"] < 0.8
    assert "clip" in result.stdout


def test_eval_incremental_needs_the_chunks(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["eval", str(tmp_path), "--incremental"])
    assert result.exit_code == 2
    assert "--incremental feeds chunks: give --chunks too" in result.output
