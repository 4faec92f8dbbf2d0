"""The pyannote.audio diarizer, loaded by pyannote's own code from checkpoints built here.

The pipelines have the real architectures and random weights (tiny_pyannote.py), laid out as
community-1 and 3.1 are; the tests check the contract: turns inside the audio, sorted and
labelled, hints obeyed, voices embedded by the pipeline's own model, nothing fetched from a
network, telemetry off, and every broken setup refused with a message that says what to do.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyannote.audio", reason="the pyannote extra is not installed")

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.backends import gpu_memory
from lahstats.pipeline.diarize import diarize, load_diarizer
from lahstats.pipeline.embed import embed_speakers, load_embedder
from lahstats.pipeline.pyannote import PyannoteDiarizer, pipeline_config, relabel
from lahstats.pipeline.run import analyze, load_models
from lahstats.pipeline.types import Audio, SpeakerHints, Turn
from lahstats.settings import Settings
from tests.pipeline import tiny_pyannote
from tests.pipeline.test_diarize import read_audio

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def community1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_pyannote.community1(tmp_path_factory.mktemp("community-1"))


@pytest.fixture(scope="module")
def clip(two_speakers: tuple[Path, dict[str, Any]]) -> Audio:
    """The first 8 s of the two-voice fixture: A, a pause, then B."""
    audio = read_audio(two_speakers[0])
    return Audio(audio.slice(0.0, 8.0))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fails any attempt to open a network connection, and records it."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any, *args: Any) -> None:
        attempts.append(address)
        raise OSError("network access attempted in a test that must stay offline")

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(host)
        raise socket.gaierror("name lookup attempted in a test that must stay offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield attempts
    assert attempts == []


def settings(model: Path | str, **more: Any) -> Settings:
    return Settings(diarizer="pyannote", diarizer_model=str(model), device="cpu", **more)


def check_turns(turns: tuple[Turn, ...], duration: float) -> None:
    assert all(isinstance(turn, Turn) for turn in turns)
    assert all(0.0 <= turn.start < turn.end <= duration for turn in turns)
    assert list(turns) == sorted(turns, key=lambda turn: (turn.start, turn.end, turn.speaker))
    order = list(dict.fromkeys(turn.speaker for turn in turns))
    assert order == [f"SPEAKER_{index:02d}" for index in range(len(order))]


def test_a_community1_pipeline_diarizes_from_its_directory_offline(
    community1: Path, clip: Audio, no_network: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    diarizer = load_diarizer(settings(community1))
    assert isinstance(diarizer, PyannoteDiarizer)
    progress: list[tuple[str, int, int]] = []
    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")  # as importing pyannote leaves it
    turns = diarize(diarizer, clip, on_progress=lambda *report: progress.append(report))
    # a trace would be exported now, and the export caught by no_network
    from pyannote.audio.telemetry.metrics import provider

    provider.force_flush()
    check_turns(turns, clip.duration)
    assert turns  # random weights still hear someone in 8 s of speech
    assert progress[0] == ("diarize", 0, 100)
    assert progress[-1] == ("diarize", 100, 100)
    assert [done for _, done, _ in progress] == sorted(done for _, done, _ in progress)
    # telemetry is forced off, even over a switch that asked for it
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "false"
    assert not is_metrics_enabled()


def test_speaker_count_hints_reach_pyannote(community1: Path, clip: Audio) -> None:
    diarizer = load_diarizer(settings(community1))
    one = diarize(diarizer, clip, SpeakerHints(maximum=1))
    check_turns(one, clip.duration)
    assert {turn.speaker for turn in one} == {"SPEAKER_00"}
    two = diarize(diarizer, clip, SpeakerHints(exact=2))
    check_turns(two, clip.duration)
    assert {turn.speaker for turn in two} == {"SPEAKER_00", "SPEAKER_01"}


def test_empty_audio_has_no_turns(community1: Path) -> None:
    diarizer = load_diarizer(settings(community1))
    assert diarize(diarizer, Audio(np.zeros(0, np.float32))) == ()


def test_a_31_style_config_with_its_models_beside_it_loads_and_diarizes(
    tmp_path: Path, community1: Path, clip: Audio, no_network: list[Any]
) -> None:
    root = tmp_path / "speaker-diarization-3.1"
    shutil.copytree(community1 / "segmentation", root / "segmentation-3.0")
    shutil.copytree(community1 / "embedding", tmp_path / "wespeaker-resnet34")
    config = tiny_pyannote.v31(
        root, segmentation="segmentation-3.0", embedding=str(tmp_path / "wespeaker-resnet34")
    )
    diarizer = load_diarizer(settings(config))  # the config.yaml file itself
    turns = diarize(diarizer, clip)
    check_turns(turns, clip.duration)


def test_the_pipeline_embedding_model_serves_voiceprints(
    community1: Path, clip: Audio, tmp_path: Path
) -> None:
    embedder = load_embedder(settings(community1))
    assert embedder.name.startswith("pyannote-embedding:")
    voices = embed_speakers(embedder, clip, (Turn("SPEAKER_00", 0.0, 4.8),))
    assert len(voices) == 1
    assert voices[0].vector.shape == (tiny_pyannote.EMBEDDING_DIMENSION,)
    assert float(np.linalg.norm(voices[0].vector)) == pytest.approx(1.0, abs=1e-4)
    assert voices[0].model == embedder.name
    # the name follows the weights, not the directory: a copy is the same space ...
    copy = shutil.copytree(community1, tmp_path / "copy")
    assert load_embedder(settings(copy)).name == embedder.name
    # ... and other weights are another space, never compared with it
    tiny_pyannote.write_embedding(copy / "embedding", seed=7)
    other = load_embedder(settings(copy, diarizer_batch_size=4))
    assert other.name.startswith("pyannote-embedding:")
    assert other.name != embedder.name


def test_the_whole_pipeline_runs_with_pyannote(community1: Path, clip: Audio) -> None:
    models = load_models(settings(community1))
    assert models.names["diarizer"] == "pyannote"
    analysis = analyze(models, clip, SpeakerHints(exact=2))
    check_turns(analysis.turns, clip.duration)
    speakers = {turn.speaker for turn in analysis.turns}
    assert {word.speaker for word in analysis.words} <= speakers
    assert all(0.0 <= word.start <= word.end <= clip.duration for word in analysis.words)
    assert {voice.speaker for voice in analysis.embeddings} <= speakers
    assert {voice.model for voice in analysis.embeddings} == {models.embedder.name}
    assert {sample.speaker for sample in analysis.samples} <= speakers


def test_model_entries_become_directories_on_disk(tmp_path: Path) -> None:
    (tmp_path / "seg").mkdir()
    asked: list[str] = []

    def resolve(value: str) -> Path:
        asked.append(value)
        return tmp_path / "snapshots" / value.replace("/", "--")

    config = {
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "seg",
                "embedding": "pyannote/wespeaker-voxceleb-resnet34-LM",
                "plda": "$model/plda",
                "clustering": "VBxClustering",
            },
        }
    }
    params = pipeline_config(tmp_path, config, resolve)["pipeline"]["params"]
    assert params["segmentation"] == {"checkpoint": str(tmp_path / "seg")}
    assert params["embedding"] == {
        "checkpoint": str(tmp_path / "snapshots" / "pyannote--wespeaker-voxceleb-resnet34-LM")
    }
    assert params["plda"] == {"checkpoint": str(tmp_path), "subfolder": "plda"}
    assert params["clustering"] == "VBxClustering"
    assert asked == ["pyannote/wespeaker-voxceleb-resnet34-LM"]
    assert config["pipeline"]["params"]["segmentation"] == "seg"  # the input is left alone


def test_turns_are_clipped_sorted_and_named_by_first_appearance() -> None:
    turns = relabel([(3.0, 9.0, "B"), (-0.1, 2.0, "A"), (2.5, 2.5, "C"), (1.0, 4.0, "B")], 5.0)
    assert turns == (
        Turn("SPEAKER_00", 0.0, 2.0),
        Turn("SPEAKER_01", 1.0, 4.0),
        Turn("SPEAKER_01", 3.0, 5.0),
    )


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("missing", "no such file or directory"),
        ("empty", "no config.yaml"),
        ("not-a-pipeline", "not a pyannote pipeline config"),
        ("absent-model", "neither a directory there nor a model hub id"),
        ("corrupt", "could not be loaded"),
    ],
)
def test_a_broken_pipeline_is_refused_with_what_to_do(
    tmp_path: Path, community1: Path, layout: str, expected: str
) -> None:
    target = tmp_path / "pipeline"
    if layout != "missing":
        target.mkdir()
    if layout == "not-a-pipeline":
        (target / "config.yaml").write_text("just: a mapping\n")
    if layout == "absent-model":
        tiny_pyannote.v31(target, segmentation="no-such-dir", embedding="./neither")
    if layout == "corrupt":
        shutil.copytree(community1, target, dirs_exist_ok=True)
        (target / "segmentation" / "pytorch_model.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable) as raised:
        load_diarizer(settings(target))
    assert expected in raised.value.message
    assert raised.value.hint


def test_running_out_of_gpu_memory_says_what_to_change() -> None:
    import torch

    with pytest.raises(ModelUnavailable) as raised, gpu_memory("diarizing", "use the CPU"):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert raised.value.message == "the GPU ran out of memory while diarizing"
    assert raised.value.hint == "use the CPU"
