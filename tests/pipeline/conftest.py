"""Fixtures for the pipeline's tests: the shipped few-second clips (``shared_data`` is global)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def two_speakers() -> tuple[Path, dict[str, Any]]:
    """16.5 s of two espeak-ng voices (A, B, A) and the truth about them."""
    truth = json.loads((FIXTURES / "two_speakers.json").read_text())
    return FIXTURES / "two_speakers.flac", truth


# (file name, ffmpeg output options) for each container a phone or browser may upload
ENCODINGS = {
    "wav": ("clip.wav", ["-ar", "44100", "-ac", "2", "-c:a", "pcm_f32le"]),
    "flac": ("clip.flac", []),
    "ogg": ("clip.ogg", ["-c:a", "libvorbis"]),
    "opus": ("clip.opus", ["-c:a", "libopus", "-b:a", "24k"]),
    "mp3": ("clip.mp3", ["-b:a", "32k"]),
    "m4a": ("clip.m4a", ["-c:a", "aac", "-b:a", "32k"]),
    "aac": ("clip.aac", ["-c:a", "aac", "-b:a", "32k", "-f", "adts"]),
    "webm": ("clip.webm", ["-c:a", "libopus", "-b:a", "24k", "-ar", "48000"]),
    "aiff": ("clip.aiff", ["-ar", "22050"]),
}
SNIFFED = {"opus": "ogg"}


def ffmpeg(source: Path, target: Path, options: list[str]) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *options, str(target)],
        check=True,
    )
    return target


@pytest.fixture(scope="session")
def encoded(
    two_speakers: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("encoded")
    return {
        kind: ffmpeg(two_speakers[0], folder / name, options).read_bytes()
        for kind, (name, options) in ENCODINGS.items()
    }


@pytest.fixture(scope="session")
def vbr_mp3_without_xing(
    two_speakers: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory
) -> bytes:
    """A VBR MP3 with no Xing header: nothing in it says how long it is."""
    options = ["-c:a", "libmp3lame", "-q:a", "6", "-write_xing", "0"]
    target = tmp_path_factory.mktemp("vbr") / "vbr.mp3"
    return ffmpeg(two_speakers[0], target, options).read_bytes()
