"""The runner on a two-recording dataset written to a temporary folder, with fake analyses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import InvalidAudio
from lahstats.evaluation.dataset import Recording, load_dataset, reference_turns
from lahstats.evaluation.report import RecordingResult, render_table
from lahstats.evaluation.runner import evaluate
from lahstats.pipeline.types import SAMPLE_RATE, Analysis, SpeakerCounts, Turn, Word

LINES = [  # speaker, start, end, text
    ("A", 0.1, 0.9, "Walao, the queue so long lah."),
    ("B", 1.0, 1.9, "Can lah, wait lor."),
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    silence = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    sf.write(tmp_path / "conv.wav", silence, SAMPLE_RATE)
    sf.write(tmp_path / "mono.wav", silence, SAMPLE_RATE)
    (tmp_path / "conv.rttm").write_text(
        "".join(
            f"SPEAKER conv 1 {start} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
            for speaker, start, end, _ in LINES
        )
    )
    segments = [
        {"start": start, "end": end, "speaker": speaker, "text": text}
        for speaker, start, end, text in LINES
    ]
    (tmp_path / "conv.transcript.json").write_text(json.dumps({"segments": segments}))
    truth = {"A": {"walao": 1, "lah": 1, "can": 0}, "B": {"can": 1, "lah": 1, "lor": 1}}
    (tmp_path / "conv.groundtruth.json").write_text(json.dumps(truth))
    (tmp_path / "mono.groundtruth.json").write_text(json.dumps({"S": {"lah": 2}}))
    entries = [
        {"id": "conv", "kind": "synthetic_conversation", "audio": "conv.wav",
         "rttm": "conv.rttm", "transcript": "conv.transcript.json",
         "groundtruth": "conv.groundtruth.json", "groundtruth_quality": "exact (by construction)",
         "n_speakers": 2, "duration_s": 2.0},
        {"id": "mono", "kind": "real", "audio": "mono.wav", "rttm": None, "transcript": None,
         "groundtruth": "mono.groundtruth.json", "groundtruth_quality": "human",
         "n_speakers": 1, "duration_s": 2.0},
    ]  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps({"entries": entries}))
    return tmp_path


def oracle(recording: Recording, *, rename: dict[str, str] | None = None) -> Analysis:
    """What a perfect pipeline would return, under its own speaker labels."""
    rename = rename or {}
    turns = reference_turns(recording) if recording.rttm else (Turn("S", 0.0, 2.0),)
    words = tuple(
        Word(token, start, end, speaker)
        for speaker, start, end, text in LINES
        if recording.id == "conv"
        for token in text.split()
    )
    return Analysis(
        duration=2.0,
        turns=tuple(Turn(rename.get(t.speaker, t.speaker), t.start, t.end) for t in turns),
        words=words,
        segments=(),
        counts=tuple(
            SpeakerCounts(rename.get(speaker, speaker), counts)
            for speaker, counts in (recording.groundtruth or {}).items()
        ),
    )


def test_reference_as_hypothesis_scores_perfectly(dataset: Path) -> None:
    heard: list[RecordingResult] = []
    report = evaluate(load_dataset(dataset), oracle, on_result=heard.append)
    assert [result.id for result in heard] == ["conv", "mono"]
    conv, mono = report.to_json()["recordings"]
    assert conv["der"] == 0.0
    assert conv["der_collar"] == 0.0
    assert (conv["word_tp"], conv["word_fp"], conv["word_fn"]) == (5, 0, 0)
    assert conv["wer"] == 0.0
    assert (conv["n_speakers_ref"], conv["n_speakers_hyp"]) == (2, 2)
    assert conv["rtf"] is not None
    assert conv["rtf"] >= 0
    # No RTTM: the single reference speaker is matched by time, the DER is unknown.
    assert mono["der"] is None
    assert (mono["word_tp"], mono["word_f1"]) == (2, 1.0)
    overall = report.to_json()["overall"]
    assert (overall["der"], overall["word_f1"], overall["speaker_count_accuracy"]) == (0, 1, 1)
    assert overall["audio_seconds"] == pytest.approx(4.0)
    assert overall["peak_rss_mb"] > 10
    assert "conv" in render_table(report)


def test_other_labels_are_mapped_before_counting(dataset: Path) -> None:
    def swapped(recording: Recording) -> Analysis:
        return oracle(recording, rename={"A": "SPEAKER_01", "B": "SPEAKER_00", "S": "SPEAKER_00"})

    conv, _ = evaluate(load_dataset(dataset), swapped).recordings
    assert conv.speaker_mapping == {"SPEAKER_01": "A", "SPEAKER_00": "B"}
    assert conv.der is not None
    assert conv.der.der == 0.0
    assert conv.words is not None
    assert conv.words.f1 == 1.0


def test_one_speaker_split_in_two_costs_the_extra_speakers_counts(dataset: Path) -> None:
    def split(recording: Recording) -> Analysis:
        return Analysis(
            duration=2.0,
            turns=(Turn("x", 0.0, 1.5), Turn("y", 1.5, 2.0)),
            words=(),
            segments=(),
            counts=(SpeakerCounts("x", {"lah": 1}), SpeakerCounts("y", {"lah": 1})),
        )

    (result,) = evaluate(load_dataset(dataset)[1:], split).recordings
    # x (1.5 s) is the speaker: lah tp 1, fn 1; y's lah is a false positive.
    assert result.words is not None
    assert (result.words.tp, result.words.fp, result.words.fn) == (1, 1, 1)
    assert result.n_speakers_hyp == 2


def test_refused_audio_is_recorded_and_the_run_goes_on(dataset: Path) -> None:
    def picky(recording: Recording) -> Analysis:
        if recording.id == "conv":
            raise InvalidAudio("conv.wav is not audio")
        return oracle(recording)

    conv, mono = evaluate(load_dataset(dataset), picky).recordings
    assert conv.error is not None
    assert "not audio" in conv.error
    assert conv.der is None
    assert mono.words is not None
    assert mono.words.f1 == 1.0
