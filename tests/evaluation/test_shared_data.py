"""The shared evaluation sets load, and their references agree with their indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lahstats.evaluation.dataset import load_dataset, reference_text, reference_turns


@pytest.mark.parametrize("split", ["dev", "real-extra"])
def test_every_entry_and_its_reference_turns_load(shared_data: Path, split: str) -> None:
    index = json.loads((shared_data / split / "index.json").read_text())
    with_audio = [entry["id"] for entry in index["entries"] if entry.get("audio")]
    recordings = load_dataset(shared_data / split, include_adversarial=True)
    assert [recording.id for recording in recordings] == with_audio
    for recording in recordings:
        assert recording.audio.is_file(), recording.id
        assert all(chunk.is_file() for chunk in recording.chunks), recording.id
        if recording.rttm is None:
            continue
        turns = reference_turns(recording)
        speakers = {turn.speaker for turn in turns}
        assert turns, recording.id
        if recording.n_speakers is not None:
            assert len(speakers) == recording.n_speakers, recording.id
        if recording.groundtruth is not None:
            assert set(recording.groundtruth) <= speakers, recording.id
        if recording.duration is not None:
            assert max(turn.end for turn in turns) <= recording.duration + 0.5, recording.id


def test_synthetic_recordings_have_exact_truth_text_and_chunks(shared_data: Path) -> None:
    synthetic = [r for r in load_dataset(shared_data / "dev") if r.family == "synthetic"]
    assert len(synthetic) >= 4
    for recording in synthetic:
        assert recording.exact, recording.id
        assert recording.groundtruth, recording.id
        assert len(recording.chunks) >= 2, recording.id
        text = reference_text(recording)
        assert text is not None, recording.id
        assert len(text.split()) > 50, recording.id
