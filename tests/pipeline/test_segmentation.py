"""pyannote's community-1 segmentation model read out of libmoonshine.so: speech and overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.segmentation import embedded_model, load_segmenter


@pytest.fixture(scope="module")
def voices(two_speakers: tuple[Path, dict[str, Any]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    samples, _ = sf.read(two_speakers[0], dtype="float32")
    return np.asarray(samples, np.float32)


def test_speech_follows_the_fixture_turns_and_silence_has_none(
    voices: np.ndarray[Any, np.dtype[np.float32]], two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    segmenter = load_segmenter()
    frames = len(voices) // 160
    speech, overlap = segmenter.activity(voices, frames)

    assert speech.shape == overlap.shape == (frames,)
    truth = np.zeros(frames, bool)
    for turn in two_speakers[1]["turns"]:
        truth[round(turn["start"] * 100) : round(turn["end"] * 100)] = True
    # 0.83 measured: the truth turns run through the pauses between phrases, the model does not
    assert (speech == truth).mean() > 0.78
    assert (speech & ~truth).mean() < 0.02
    assert not overlap.any()  # one voice at a time in the fixture
    quiet, both = segmenter.activity(np.zeros(16000 * 12, np.float32), 1200)
    assert not quiet.any()
    assert not both.any()
    assert segmenter.activity(np.zeros(0, np.float32), 0)[0].shape == (0,)


def test_two_voices_at_once_are_overlap(voices: np.ndarray[Any, np.dtype[np.float32]]) -> None:
    # A's first turn (0-4.86 s) and B's turn (5.46-12.37 s) played together
    mixed = voices[: 16000 * 4] + voices[16000 * 5 + 8000 : 16000 * 9 + 8000]
    _, overlap = load_segmenter().activity(mixed, 400)

    assert overlap[50:350].mean() > 0.5


def test_an_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable):
        embedded_model("no_such_model")
