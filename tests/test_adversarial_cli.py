"""``lahstats analyze``, the installed entry point run as a subprocess, on every file of
../shared/data/dev/adversarial: each gets the behaviour its manifest.json names.

The CLI reads several FILES as ordered chunks of one talk, so every adversarial file gets an
invocation of its own (models load in each, about 2 s); they run two at a time. long_30min.mp3
takes minutes whole on a CPU: its first 30 s, cut with ffmpeg, prove the MP3 path here and the
full file is measured by hand. The pipeline-level and decode-level checks of the same files live
in tests/pipeline/test_adversarial*.py, the upload answers in tests/api/test_chunks.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

LAHSTATS = Path(sys.executable).with_name("lahstats")
TIMEOUT = 300  # seconds per invocation: a hang (a header claiming 10 s that holds 0.25 s) fails


@dataclass(frozen=True)
class Refused:
    """Exit 1, one error line naming the file and saying why, nothing on stdout."""

    reason: str


@dataclass(frozen=True)
class Analysed:
    """Exit 0 and ``--json`` output within these bounds."""

    duration: float
    speakers: tuple[int, int]  # fewest, most
    target_words: tuple[int, int | None] = (0, 0)  # over all speakers; None: no upper bound
    heard_words: int = 0  # at least this many words in the transcript
    silent: bool = False  # no transcript and no corrections at all
    talk: float = 0.0  # every speaker found speaks at least this many seconds
    first_seconds: int | None = None  # analyse only the start, cut with ffmpeg


SPEECH = (1, None)

EXPECTED: dict[str, Refused | Analysed] = {
    "empty_0bytes.wav": Refused("is empty (0 bytes)"),
    "not_audio_text.wav": Refused("is not audio: looks like text"),
    "header_only_0samples.wav": Analysed(0.0, speakers=(0, 0), silent=True),
    "truncated_data.wav": Analysed(0.25, speakers=(0, 1)),  # the 0.25 s it holds, not 10 s
    "mp3_data_named.wav": Analysed(20.0, (1, 2), SPEECH, heard_words=20),  # sniffed as MP3
    "tiny_0.2s.wav": Analysed(0.2, speakers=(0, 1)),
    "silence_60s.wav": Analysed(60.0, speakers=(0, 0), silent=True),
    "white_noise_60s.wav": Analysed(60.0, speakers=(0, 0)),
    # d01 only on the left channel, d02 only on the right: both must be heard, for minutes.
    "stereo_8k_dev_conv01.wav": Analysed(105.97, (2, 2), SPEECH, heard_words=100, talk=20.0),
    "very_quiet_-55dB_dev_conv02_30s.wav": Analysed(30.0, (1, 2), SPEECH, heard_words=30),
    "clipped_hot_dev_conv02_30s.wav": Analysed(30.0, (1, 2), SPEECH, heard_words=30),
    "float32_44k1_stereo_dev_conv02_15s.wav": Analysed(15.0, (1, 2), SPEECH, heard_words=15),
    # The first 30 s are dev_conv01's, where d01 and d02 both speak (long_30min.rttm).
    "long_30min.mp3": Analysed(30.0, (2, 2), SPEECH, heard_words=40, first_seconds=30),
}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, self.stderr
        return json.loads(self.stdout)

    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error:")]


def lahstats_analyze(files: list[Path], workdir: Path) -> Run:
    env = {
        **os.environ,
        "LAHSTATS_DATA_DIR": str(workdir / "var"),
        "LAHSTATS_LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [str(LAHSTATS), "analyze", *map(str, files), "--json"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr  # refused or analysed, never a crash
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def adversarial(shared_data: Path) -> Path:
    return shared_data / "dev" / "adversarial"


@pytest.fixture(scope="module")
def runs(adversarial: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every file of EXPECTED through ``lahstats analyze --json``, two invocations at a time."""
    workdir = tmp_path_factory.mktemp("adversarial_cli")
    cuts = workdir / "cuts"
    cuts.mkdir()

    def path(name: str) -> Path:
        expected = EXPECTED[name]
        if not isinstance(expected, Analysed) or expected.first_seconds is None:
            return adversarial / name
        cut = cuts / name
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-i", str(adversarial / name)),
                *("-t", str(expected.first_seconds), "-c", "copy", str(cut)),
            ],
            check=True,
            timeout=60,
        )
        return cut

    def run(name: str) -> Run:
        return lahstats_analyze([path(name)], workdir)

    def seconds(name: str) -> float:
        expected = EXPECTED[name]
        return expected.duration if isinstance(expected, Analysed) else 0.0

    longest_first = sorted(EXPECTED, key=seconds, reverse=True)  # keeps both workers busy
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(longest_first, pool.map(run, longest_first), strict=True))


def test_every_file_of_the_manifest_has_an_expected_behaviour(adversarial: Path) -> None:
    manifest = json.loads((adversarial / "manifest.json").read_text())
    # A new adversarial file fails here until someone decides what it must get.
    assert set(EXPECTED) == {entry["file"] for entry in manifest["files"]}


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if isinstance(e, Refused)])
def test_non_audio_is_refused_in_one_line_naming_the_file(runs: dict[str, Run], name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Refused)
    run = runs[name]
    assert run.returncode == 1
    assert run.stdout == ""  # no counts, and none of the text file's target words
    assert run.errors() == [f"Error: {name} {expected.reason}"]


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if isinstance(e, Analysed)])
def test_awkward_audio_is_analysed_as_the_manifest_says(runs: dict[str, Run], name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Analysed)
    data = runs[name].json()
    assert data["duration_seconds"] == pytest.approx(expected.duration, abs=0.05)
    speakers = data["speakers"]
    fewest, most = expected.speakers
    assert fewest <= len(speakers) <= most, speakers
    counted = sum(s["total_words"] for s in speakers)
    least, at_most = expected.target_words
    assert counted >= least, speakers
    if at_most is not None:
        assert counted <= at_most, speakers
    heard = sum(len(segment["text"].split()) for segment in data["transcript"])
    assert heard >= expected.heard_words, data["transcript"]
    assert all(s["speaking_seconds"] >= expected.talk for s in speakers), speakers
    if expected.silent:
        assert data["transcript"] == []
        assert data["corrections"] == []
        assert data["turns"] == []


def test_a_bad_file_among_chunks_stops_the_run_and_names_it(
    adversarial: Path, tmp_path: Path
) -> None:
    # Several FILES are the ordered chunks of one talk: counting around a chunk that cannot be
    # read would report a talk that was never heard whole, so the run stops and says which one.
    files = [adversarial / n for n in ("tiny_0.2s.wav", "empty_0bytes.wav", "silence_60s.wav")]
    run = lahstats_analyze(files, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.errors() == ["Error: empty_0bytes.wav is empty (0 bytes)"]
