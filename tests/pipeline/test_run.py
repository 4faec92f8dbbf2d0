"""The chained pipeline: progress bands, and the whole thing on the shipped two-voice clip."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.run import BANDS, Models, analyze, banded, load_models
from lahstats.settings import Settings


def test_banded_maps_each_stage_into_its_band_and_never_goes_back() -> None:
    seen: list[tuple[str, int, int]] = []
    hook = banded(lambda stage, done, total: seen.append((stage, done, total)))
    hook("decode", 1, 2)
    hook("diarize", 0, 4)
    hook("diarize", 2, 4)
    hook("decode", 2, 2)  # late report from an earlier stage: ignored, would go backwards
    hook("transcribe", 5, 5)
    hook("sample", 1, 1)
    assert seen == [
        ("decode", 5, 100),
        ("diarize", 10, 100),
        ("diarize", 25, 100),
        ("transcribe", 80, 100),
        ("sample", 98, 100),
    ]
    assert all(0 <= percent <= 100 for _, percent, _ in seen)


def test_bands_tile_zero_to_a_hundred_in_the_seeds_order() -> None:
    edges = list(BANDS.values())
    assert edges[0][0] == 0
    assert edges[-1][1] == 100
    assert all(a[1] == b[0] for a, b in itertools.pairwise(edges))
    assert BANDS["decode"] == (0, 10)
    assert BANDS["diarize"] == (10, 40)
    assert BANDS["transcribe"][0] == 40
    assert BANDS["count"][1] == 85
    assert BANDS["saving"] == (85, 95)
    assert BANDS["sample"][0] == 95


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("models")
    return load_models(Settings(env="test", data_dir=root / "var"))


def test_whole_pipeline_on_two_voices(
    models: Models, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    path, truth = two_speakers
    progress: list[tuple[str, int]] = []
    audio = decode_file(path)
    analysis = analyze(models, audio, on_progress=lambda s, d, t: progress.append((s, d)))

    assert abs(analysis.duration - 16.49) < 0.1
    assert len(analysis.speakers) == 2

    # Speaker of the first and third truth turn is the same label, the second differs.
    def speaker_at(t: float) -> str:
        return next(turn.speaker for turn in analysis.turns if turn.start <= t <= turn.end)

    first, second, third = (
        speaker_at((turn["start"] + turn["end"]) / 2) for turn in truth["turns"]
    )
    assert first == third != second
    assert analysis.words, "the recogniser heard nothing"
    assert all(0 <= w.start <= w.end <= analysis.duration + 0.5 for w in analysis.words)
    assert {s.speaker for s in analysis.samples} == set(analysis.speakers)
    assert {e.speaker for e in analysis.embeddings} == set(analysis.speakers)
    assert set(analysis.timings) >= {"diarize", "transcribe", "correct", "count", "sample"}
    percents = [p for _, p in progress]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    stages = list(dict.fromkeys(s for s, _ in progress))
    assert stages.index("diarize") < stages.index("transcribe") < stages.index("sample")
