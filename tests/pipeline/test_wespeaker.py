"""The WeSpeaker encoder read out of libmoonshine.so, and the Kaldi filterbank that feeds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.pipeline.types import SAMPLE_RATE
from lahstats.pipeline.wespeaker import ENCODER_NAME, fbank_frames, load_wespeaker


def test_fbank_has_one_row_per_10_ms_and_follows_loudness() -> None:
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
    quiet = fbank_frames(tone.astype(np.float32) * 0.1, 100)
    loud = fbank_frames(tone.astype(np.float32), 100)

    assert loud.shape == (100, 80)
    assert loud.dtype == np.float32
    # ten times the amplitude is 20 dB: ln(100) more log energy in every band that has any
    assert float(np.median(loud[5:95] - quiet[5:95])) == pytest.approx(np.log(100.0), abs=0.05)
    # the 440 Hz band is the loudest one
    assert 5 <= int(np.argmax(loud[50])) <= 15
    # asking for more frames than the audio has pads with zeros instead of failing
    assert fbank_frames(tone[:800].astype(np.float32), 10)[5:].tolist() == [[0.0] * 80] * 5


def test_windows_of_one_voice_are_closer_than_windows_of_two(
    two_speakers: tuple[Path, dict[str, Any]],
) -> None:
    samples, rate = sf.read(two_speakers[0], dtype="float32")
    assert rate == SAMPLE_RATE
    encoder = load_wespeaker()
    frames = fbank_frames(samples, len(samples) // 160)
    # 1.6 s windows inside A's first turn (0-4.86 s), B's turn (5.46-12.37) and A's second turn
    vectors = encoder.embed_windows(frames, [50, 250, 600, 800, 1000, 1310, 1450], 160)

    assert encoder.name == ENCODER_NAME
    assert vectors.shape == (7, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    a, b = [0, 1, 5, 6], [2, 3, 4]
    same = np.mean([similarity[i, j] for g in (a, b) for i in g for j in g if i != j])
    across = np.mean([similarity[i, j] for i in a for j in b])
    # two espeak-ng voices differ in little but pitch: 0.69 against 0.62 here, where real voices
    # of one AMI meeting score about 0.6 against 0.0
    assert same > across + 0.03, similarity
    assert load_wespeaker() is encoder
    assert encoder.embed_windows(frames, [], 160).shape == (0, 256)
