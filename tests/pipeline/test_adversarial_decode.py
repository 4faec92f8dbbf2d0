"""decode against the shared evaluation data: the awkward files of dev/adversarial (manifest.json
says what each must get) and the chunked uploads of dev/synthetic in every format the app sends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import InvalidAudio
from lahstats.pipeline.decode import decode_bytes, decode_file, decode_files, probe
from lahstats.pipeline.sniff import sniff
from lahstats.pipeline.types import SAMPLE_RATE


@pytest.fixture(scope="module")
def adversarial(shared_data: Path) -> Path:
    return shared_data / "dev" / "adversarial"


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty_0bytes.wav", "is empty (0 bytes)"),
        ("not_audio_text.wav", "is not audio: looks like text"),
    ],
)
def test_non_audio_is_rejected(adversarial: Path, name: str, reason: str) -> None:
    data = (adversarial / name).read_bytes()
    for check in (decode_bytes, probe):
        with pytest.raises(InvalidAudio) as raised:
            check(data, label=f"chunk 0 ({name})")
        assert raised.value.message == f"chunk 0 ({name}) {reason}"


def test_header_only_wav_is_zero_seconds(adversarial: Path) -> None:
    assert decode_file(adversarial / "header_only_0samples.wav").duration == 0.0


def test_truncated_wav_decodes_what_it_holds_quickly(adversarial: Path) -> None:
    started = time.perf_counter()
    audio = decode_file(adversarial / "truncated_data.wav")
    assert audio.duration == pytest.approx(0.25, abs=0.01)
    assert time.perf_counter() - started < 2.0


def test_mp3_named_wav_is_sniffed_as_mp3(adversarial: Path) -> None:
    data = (adversarial / "mp3_data_named.wav").read_bytes()
    assert sniff(data) == "mp3"
    assert decode_bytes(data).shape[0] / SAMPLE_RATE == pytest.approx(20.0, abs=0.05)


def test_tiny_clip(adversarial: Path) -> None:
    assert decode_file(adversarial / "tiny_0.2s.wav").duration == pytest.approx(0.2, abs=0.005)


def test_stereo_8k_keeps_both_speakers(adversarial: Path) -> None:
    # d01 speaks only on the left channel and d02 only on the right: the mix must hold both.
    path = adversarial / "stereo_8k_dev_conv01.wav"
    mono = decode_file(path).samples
    stereo, rate = sf.read(path, dtype="float32")
    assert rate == 8000
    assert len(mono) == pytest.approx(2 * len(stereo), abs=2)
    for channel in (0, 1):
        alone = stereo[:, channel]
        # Where only this channel speaks, the mix carries that speech (at half amplitude).
        only_here = (np.abs(alone) > 0.05) & (np.abs(stereo[:, 1 - channel]) < 1e-4)
        assert only_here.sum() > 8000
        mixed_there = mono[::2][: len(alone)][only_here]
        assert rms(mixed_there) == pytest.approx(rms(alone[only_here]) / 2, rel=0.15)


def test_float_44k1_stereo_becomes_15s_at_16k(adversarial: Path) -> None:
    path = adversarial / "float32_44k1_stereo_dev_conv02_15s.wav"
    audio = decode_file(path)
    assert len(audio.samples) == 15 * SAMPLE_RATE
    assert rms(audio.samples) > 0.01


@pytest.mark.parametrize(
    "name", ["very_quiet_-55dB_dev_conv02_30s.wav", "clipped_hot_dev_conv02_30s.wav"]
)
def test_quiet_and_clipped_decode(adversarial: Path, name: str) -> None:
    samples = decode_file(adversarial / name).samples
    assert len(samples) == 30 * SAMPLE_RATE
    assert 0 < rms(samples) <= 1.0


@pytest.mark.parametrize(
    "recording",
    [
        "conversations/dev_conv01",  # wav chunks
        "conversations/dev_conv02",  # m4a
        "conversations/dev_conv03",  # mp3
        "conversations/dev_conv04",  # webm, m4a, mp3, wav
    ],
)
def test_chunks_join_to_the_recording(shared_data: Path, recording: str) -> None:
    source = shared_data / "dev" / "synthetic" / f"{recording}.wav"
    folder = source.parent / f"{source.stem}_chunks"
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = [folder / chunk["file"] for chunk in manifest["chunks"]]
    for chunk, path in zip(manifest["chunks"], paths, strict=True):
        assert sniff(path.read_bytes()) == chunk["format"]

    joined = decode_files(paths)

    assert joined.gaps == ()
    expected = decode_file(source).duration
    assert joined.duration == pytest.approx(expected, abs=0.1 * len(paths))
