"""sample: one short, equally loud, unclipped MP3 clip per speaker, from where only they speak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lahstats.pipeline.decode import decode_bytes, decode_file, probe
from lahstats.pipeline.sample import TARGET_DBFS, choose_window, cut_samples
from lahstats.pipeline.types import SAMPLE_RATE, Audio, Turn


@pytest.fixture(scope="module")
def recording(two_speakers: tuple[Path, dict[str, Any]]) -> tuple[Audio, list[Turn]]:
    path, truth = two_speakers
    turns = [Turn(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
    return decode_file(path), turns


def dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


@pytest.mark.parametrize("scale", [1.0, 0.01, 4.0], ids=["as-recorded", "quiet", "hot"])
def test_each_speaker_gets_a_clean_normalised_clip(
    recording: tuple[Audio, list[Turn]], scale: float
) -> None:
    audio, turns = recording
    progress: list[tuple[str, int, int]] = []

    samples = cut_samples(
        Audio(np.clip(audio.samples * scale, -1, 1)),
        turns,
        on_progress=lambda *call: progress.append(call),
    )

    assert [s.speaker for s in samples] == ["A", "B"]
    assert progress == [("sample", 0, 2), ("sample", 1, 2), ("sample", 2, 2)]
    for sample in samples:
        own = [t for t in turns if t.speaker == sample.speaker]
        assert any(t.start - 1e-6 <= sample.start < sample.end <= t.end + 1e-6 for t in own)
        # A's turns are shorter than 5 s: its clip is the longest one, whole; B's is cut to 5 s.
        longest = min(5.0, max(t.duration for t in own))
        assert sample.end - sample.start == pytest.approx(longest, abs=1e-6)
        assert sample.content_type == "audio/mpeg"
        assert probe(sample.data).format == "mp3"
        played = decode_bytes(sample.data, label=f"sample of {sample.speaker}")
        assert len(played) / SAMPLE_RATE == pytest.approx(longest, abs=0.05)
        assert dbfs(played) == pytest.approx(TARGET_DBFS, abs=1.5)
        assert np.abs(played).max() < 0.99
        assert len(sample.data) < 40_000


def test_a_long_stretch_gives_a_centred_5s_clip(recording: tuple[Audio, list[Turn]]) -> None:
    audio, _ = recording
    # One speaker talks 0-14 s; the clip is its middle 5 s.
    (sample,) = cut_samples(audio, [Turn("A", 0.0, 14.0)])
    assert (sample.start, sample.end) == pytest.approx((4.5, 9.5))
    assert len(decode_bytes(sample.data)) / SAMPLE_RATE == pytest.approx(5.0, abs=0.05)
    assert len(sample.data) < 40_000  # ~20 KB at 32 kbps


def test_overlapped_speech_is_avoided() -> None:
    turns = [
        Turn("A", 0.0, 10.0),
        Turn("B", 2.0, 9.0),  # B talks over most of A's long turn
        Turn("A", 12.0, 12.4),  # with < 0.3 s between them, these two are one stretch
        Turn("A", 12.6, 15.0),
        Turn("C", 20.0, 21.0),
        Turn("B", 20.5, 21.5),
    ]
    # A: 0-10 holds only 2 s + 1 s clean; 12-15 is 3 s and clean.
    assert choose_window("A", turns, seconds=5.0, duration=30.0) == pytest.approx((12.0, 15.0))
    # B: its only clean part, 21.0-21.5, is too short: the least-overlapped stretch wins.
    assert choose_window("B", turns, seconds=5.0, duration=30.0) == pytest.approx((20.5, 21.5))
    # C: its clean part 20.0-20.5 is short, and its only stretch is half overlapped.
    assert choose_window("C", turns, seconds=5.0, duration=30.0) == pytest.approx((20.0, 21.0))
    # With 0.4 s wanted, short clean parts are enough.
    assert choose_window("B", turns, seconds=0.4, duration=30.0) == pytest.approx((21.05, 21.45))
    # Turns past the end of the audio are cut to it (A's 12-15 becomes 12-13, shorter than its
    # clean 0-2 s); wholly past it, there is no clip.
    assert choose_window("A", turns, seconds=5.0, duration=13.0) == pytest.approx((0.0, 2.0))
    assert choose_window("C", turns, seconds=5.0, duration=19.0) is None


def test_no_turns_no_samples(recording: tuple[Audio, list[Turn]]) -> None:
    assert cut_samples(recording[0], []) == ()


def test_silence_stays_silent_and_valid() -> None:
    (sample,) = cut_samples(Audio(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)), [Turn("A", 0, 3)])
    played = decode_bytes(sample.data)
    assert len(played) / SAMPLE_RATE == pytest.approx(3.0, abs=0.05)
    assert np.abs(played).max() < 1e-3
