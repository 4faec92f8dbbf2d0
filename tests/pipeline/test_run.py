"""The chained pipeline: progress bands, and the whole thing on the shipped two-voice clip."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.run import BANDS, Models, analyze, banded, finish, load_models
from lahstats.pipeline.types import Analysis, Turn, VoiceEmbedding
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


def test_finish_keeps_the_voices_the_analysis_holds_and_embeds_only_the_others(
    models: Models, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    audio = decode_file(two_speakers[0])
    turns = tuple(Turn(t["speaker"], t["start"], t["end"]) for t in two_speakers[1]["turns"])
    held = np.zeros(256, np.float32)
    held[0] = 1.0
    analysis = Analysis(
        duration=audio.duration,
        turns=turns,
        words=(),
        segments=(),
        counts=(),
        embeddings=(
            VoiceEmbedding("A", held, models.embedder.name),
            VoiceEmbedding("B", held, "another-model"),  # another space: embedded again
        ),
    )
    embedded: list[int] = []
    real = models.embedder

    class Counting:
        name = real.name

        def embed(self, samples: Any) -> Any:
            embedded.append(len(samples))
            return real.embed(samples)

    finished = finish(replace(models, embedder=Counting()), audio, analysis, with_samples=False)

    voices = {e.speaker: e for e in finished.embeddings}
    assert set(voices) == {"A", "B"}
    assert voices["A"].vector is held
    assert voices["B"].model == real.name
    assert float(voices["B"].vector @ real.embed(audio.slice(turns[1].start, turns[1].end))) > 0.9
    assert len(embedded) == 1  # B's audio alone
