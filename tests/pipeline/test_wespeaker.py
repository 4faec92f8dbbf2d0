"""The WeSpeaker encoder read out of libmoonshine.so, and the Kaldi filterbank that feeds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.pipeline.diarize import VoiceFeatures
from lahstats.pipeline.types import SAMPLE_RATE, Turn
from lahstats.pipeline.wespeaker import ENCODER_NAME, fbank_frames, load_wespeaker, window_voices


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


def _windows(turns: list[Turn], voices: np.ndarray[Any, Any]) -> tuple[VoiceFeatures, list[Turn]]:
    """100 frames of speech, a 10-frame GE2E window every 10 frames, each labelled by its own
    clustered window."""
    starts = np.arange(0, 100, 10, dtype=np.int64)
    features = VoiceFeatures(
        speech=np.ones(100, bool),
        overlap=np.zeros(100, bool),
        embeddings=np.ones((10, 256), np.float32),
        where=np.arange(100, dtype=np.int64),
        starts=starts,
        ends=starts + 10,
        voices=voices,
        nearest=np.arange(10, dtype=np.int64),
        short_spans=np.zeros((0, 2), np.int64),
        short_vectors=np.zeros((0, 256), np.float32),
    )
    return features, turns


def test_a_voice_from_the_windows_that_heard_the_speaker_alone() -> None:
    rng = np.random.default_rng(3)
    voices = rng.normal(size=(10, 256)).astype(np.float32)
    voices /= np.linalg.norm(voices, axis=1, keepdims=True)
    turns = [
        Turn("A", 0.0, 0.45),  # windows 0-3 are A's alone; window 4 runs into B
        Turn("B", 0.45, 1.0),
        Turn("A", 0.8, 0.9),  # over B: window 8 is nobody's alone
        Turn("C", 0.95, 1.0),  # only ever over B: no window of their own
    ]
    found = {v.speaker: v for v in window_voices(*_windows(turns, voices), least=3)}

    def unit(rows: list[int]) -> np.ndarray[Any, Any]:
        mean = voices[rows].mean(axis=0)
        return mean / np.linalg.norm(mean)

    assert sorted(found) == ["A", "B"]  # C is left to the caller
    assert np.allclose(found["A"].vector, unit([0, 1, 2, 3]), atol=1e-6)
    assert np.allclose(found["B"].vector, unit([5, 6, 7]), atol=1e-6)
    assert all(v.model == ENCODER_NAME and v.vector.dtype == np.float32 for v in found.values())
    assert window_voices(*_windows([], voices)) == ()
    # a voice heard alone in too few windows is left to the caller's audio
    assert [v.speaker for v in window_voices(*_windows(turns, voices), least=4)] == ["A"]
