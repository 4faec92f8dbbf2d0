from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lahstats.errors import InvalidInput
from lahstats.evaluation.dataset import (
    Recording,
    load_dataset,
    reference_text,
    reference_turns,
)
from lahstats.pipeline.types import Turn


def write_index(directory: Path, entries: list[dict[str, Any]]) -> Path:
    (directory / "index.json").write_text(json.dumps({"split": "test", "entries": entries}))
    return directory


def write_json(path: Path, document: object) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return str(path.name)


def test_entry_with_every_reference(tmp_path: Path) -> None:
    (tmp_path / "conv.rttm").write_text(
        "SPEAKER conv 1 2.0 1.0 <NA> <NA> B <NA> <NA>\n"
        "SPEAKER conv 1 0.0 1.5 <NA> <NA> A <NA> <NA>\n"
    )
    write_json(tmp_path / "conv.groundtruth.json", {"A": {"lah": 2}, "B": {"lah": 0}})
    write_json(
        tmp_path / "conv_chunks" / "manifest.json",
        {"chunks": [{"index": 1, "file": "c1.mp3"}, {"index": 0, "file": "c0.wav"}]},
    )
    write_index(
        tmp_path,
        [
            {
                "id": "conv",
                "kind": "synthetic_conversation",
                "audio": "conv.wav",
                "rttm": "conv.rttm",
                "transcript": None,
                "groundtruth": "conv.groundtruth.json",
                "chunks_manifest": "conv_chunks/manifest.json",
                "groundtruth_quality": "exact (by construction)",
                "n_speakers": 2,
                "duration_s": 3,
            }
        ],
    )
    (recording,) = load_dataset(tmp_path)
    assert recording == Recording(
        id="conv",
        kind="synthetic_conversation",
        audio=tmp_path / "conv.wav",
        rttm=tmp_path / "conv.rttm",
        transcript=None,
        groundtruth={"A": {"lah": 2}, "B": {"lah": 0}},
        exact=True,
        chunks=(tmp_path / "conv_chunks" / "c0.wav", tmp_path / "conv_chunks" / "c1.mp3"),
        n_speakers=2,
        duration=3.0,
    )
    assert recording.family == "synthetic"
    assert reference_turns(recording) == (Turn("A", 0.0, 1.5), Turn("B", 2.0, 3.0))
    assert reference_text(recording) is None


def test_sparse_entries_silver_truth_and_what_is_left_out(tmp_path: Path) -> None:
    silver = {"from_asr_1": {"spk": {"lah": 3}}, "from_asr_2": {"spk": {"lah": 1}}}
    write_json(tmp_path / "mono.groundtruth_silver.json", silver)
    write_index(
        tmp_path,
        [
            {"id": "mono", "kind": "real", "audio": "mono.wav", "rttm": None,
             "groundtruth": "mono.groundtruth_silver.json", "groundtruth_quality": "SILVER"},
            {"id": "prompts", "kind": "real", "audio": None, "transcript": "prompts.json"},
            {"id": "noise.wav", "kind": "adversarial", "audio": "noise.wav"},
        ],
    )  # fmt: skip
    (mono,) = load_dataset(tmp_path)
    assert mono.groundtruth == {"spk": {"lah": 3}}  # the first variant
    assert not mono.exact
    assert (mono.rttm, mono.transcript, mono.chunks, mono.n_speakers) == (None, None, (), None)
    with pytest.raises(ValueError, match="no reference RTTM"):
        reference_turns(mono)
    everything = load_dataset(tmp_path, include_adversarial=True)
    assert [recording.id for recording in everything] == ["mono", "noise.wav"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "index.json not found", id="missing"),
        pytest.param("{not json", "not valid JSON", id="not-json"),
        pytest.param('{"recordings": []}', "no list of entries", id="no-entries"),
        pytest.param('{"entries": [{"audio": "a.wav"}]}', "entry 0 has no string id", id="no-id"),
        pytest.param(
            '{"entries": [{"id": "a", "audio": "a.wav", "n_speakers": "two"}]}',
            "n_speakers must be a number",
            id="bad-number",
        ),
        pytest.param(
            '{"entries": [{"id": "a", "audio": "a.wav", "groundtruth": "gone.json"}]}',
            "gone.json not found",
            id="missing-groundtruth",
        ),
    ],
)
def test_malformed_dataset_says_what_was_expected(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "index.json").write_text(content)
    with pytest.raises(InvalidInput, match=message):
        load_dataset(tmp_path)


def test_ground_truth_that_is_not_counts_is_refused(tmp_path: Path) -> None:
    write_json(tmp_path / "gt.json", {"A": {"lah": "two"}})
    write_index(tmp_path, [{"id": "a", "audio": "a.wav", "groundtruth": "gt.json"}])
    with pytest.raises(InvalidInput, match="is not ground truth"):
        load_dataset(tmp_path)


def recording_with_transcript(path: Path) -> Recording:
    return Recording("r", "real", path.with_suffix(".wav"), None, path, None, False, (), None, None)


def test_reference_text_of_each_transcript_format(tmp_path: Path) -> None:
    segments = {
        "segments": [
            {"start": 4.0, "end": 5.0, "speaker": "B", "text": "Can lah."},
            {"start": 1.0, "end": 3.0, "speaker": "A", "text": "Go Maxwell or not?"},
        ]
    }
    write_json(tmp_path / "a.transcript.json", segments)
    assert reference_text(recording_with_transcript(tmp_path / "a.transcript.json")) == (
        "Go Maxwell or not? Can lah."
    )
    silver = {"segments": [{"start": 0.0, "text_qwen3": "Hello lah.", "text_whisper": "hello la"}]}
    write_json(tmp_path / "b.transcript.json", silver)
    assert reference_text(recording_with_transcript(tmp_path / "b.transcript.json")) == "Hello lah."

    (tmp_path / "c.stm").write_text(
        ";; comment\n"
        "c 1 Sheila 7.6 8.1 <o,f0,female> Hello?\n"
        "c 1 Diane 6.6 7.1 Hello?\n"
        "c 1 Diane 8.4 8.8 Oh, hello.\n"
    )
    assert reference_text(recording_with_transcript(tmp_path / "c.stm")) == (
        "Hello? Hello? Oh, hello."
    )
    (tmp_path / "d.txt").write_text("ask not\nwhat your country\n")
    assert reference_text(recording_with_transcript(tmp_path / "d.txt")) == (
        "ask not what your country"
    )
    (tmp_path / "per_speaker").mkdir()  # texts without timing: no order to score WER in
    assert reference_text(recording_with_transcript(tmp_path / "per_speaker")) is None
