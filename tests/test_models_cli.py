"""``lahstats models download --to DIR`` against ``tests/fakehub.py``: what lands in DIR, the
rewritten pyannote config, the settings it prints, and failures that say what to do. In-process
through CliRunner, and once as the installed command reaching the hub through ``HF_ENDPOINT``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import lahstats.pipeline.hub as hub_module
from lahstats.cli import main
from lahstats.pipeline.backends import inspect_models
from lahstats.pipeline.pyannote import pipeline_config
from lahstats.settings import Settings, get_settings
from tests.conftest import free_port
from tests.fakehub import FakeHub, hub_environment, point_hub_at, serving

COMMUNITY = "pyannote/speaker-diarization-community-1"
COMMUNITY_CONFIG = """\
version: 4.0.0
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    embedding: $model/embedding
    plda: $model/plda
    segmentation: $model/segmentation
params:
  clustering:
    threshold: 0.6
"""
COMMUNITY_FILES = {
    "config.yaml": COMMUNITY_CONFIG.encode(),
    "segmentation/pytorch_model.bin": b"segmentation weights",
    "embedding/pytorch_model.bin": b"embedding weights",
    "plda/plda.npz": b"plda",
    "plda/xvec_transform.npz": b"transform",
    "README.md": b"# card",
    "images/pipeline.png": b"png",
}
PIPELINE_31 = "pyannote/speaker-diarization-3.1"
CONFIG_31 = """\
version: 3.1.0
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: AgglomerativeClustering
    embedding: pyannote/wespeaker-voxceleb-resnet34-LM
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    segmentation: pyannote/segmentation-3.0
    segmentation_batch_size: 32
params:
  clustering:
    method: centroid
    min_cluster_size: 12
    threshold: 0.7045654963945799
  segmentation:
    min_duration_off: 0.0
"""
TOKEN = "hf_granted_0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    with serving(monkeypatch, tmp_path / "hf-home") as started:
        yield started


def _pipeline_31(hub: FakeHub) -> None:
    gated = {"gated": True, "granted": (TOKEN,)}
    hub.add(PIPELINE_31, {"config.yaml": CONFIG_31.encode(), "README.md": b"#"}, **gated)
    hub.add(
        "pyannote/segmentation-3.0",
        {"pytorch_model.bin": b"segmentation", "config.yaml": b"task: {}\n"},
        **gated,
    )
    hub.add(
        "pyannote/wespeaker-voxceleb-resnet34-LM",
        {"pytorch_model.bin": b"embedding", "config.yaml": b"task: {}\n"},
        **gated,
    )


def _download(tmp_path: Path, *args: str, **env: str) -> Result:
    environment = {"LAHSTATS_MODEL_CACHE_DIR": str(tmp_path / "cache"), **env}
    get_settings.cache_clear()  # each run reads its own environment
    return CliRunner().invoke(
        main, ["models", "download", "--to", str(tmp_path / "models"), *args], env=environment
    )


def _printed_settings(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if line.startswith("LAHSTATS_"))


def _files(path: Path) -> set[str]:
    return {
        found.relative_to(path).as_posix()
        for found in path.rglob("*")
        if found.is_file() and ".cache" not in found.relative_to(path).parts
    }


def test_a_community_1_pipeline_is_downloaded_with_its_subfolders(
    hub: FakeHub, tmp_path: Path
) -> None:
    hub.add(COMMUNITY, COMMUNITY_FILES)
    result = _download(tmp_path, LAHSTATS_DIARIZER="pyannote", LAHSTATS_DIARIZER_MODEL=COMMUNITY)
    assert result.exit_code == 0, result.output

    target = (tmp_path / "models" / "pyannote--speaker-diarization-community-1").resolve()
    assert _files(target) == {
        "config.yaml",
        "segmentation/pytorch_model.bin",
        "embedding/pytorch_model.bin",
        "plda/plda.npz",
        "plda/xvec_transform.npz",
    }
    # $model/ entries are already relative: the config is left as the hub has it
    assert (target / "config.yaml").read_text() == COMMUNITY_CONFIG
    printed = _printed_settings(result.stdout)
    assert printed == {"LAHSTATS_DIARIZER": "pyannote", "LAHSTATS_DIARIZER_MODEL": str(target)}

    settings = Settings(diarizer="pyannote", diarizer_model=printed["LAHSTATS_DIARIZER_MODEL"])
    status = next(s for s in inspect_models(settings) if s.role == "diarizer")
    assert (status.state, status.location) == ("ok", str(target))


def test_a_3_1_pipeline_brings_the_repos_its_config_names_and_points_at_them(
    hub: FakeHub, tmp_path: Path
) -> None:
    _pipeline_31(hub)
    env = {
        "LAHSTATS_DIARIZER": "pyannote",
        "LAHSTATS_DIARIZER_MODEL": PIPELINE_31,
        "LAHSTATS_HF_TOKEN": TOKEN,
    }
    result = _download(tmp_path, **env)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert {seen.token for seen in hub.requests("/pyannote/")} == {TOKEN}

    models = (tmp_path / "models").resolve()
    assert {path.name for path in models.iterdir()} == {
        "pyannote--speaker-diarization-3.1",
        "pyannote--segmentation-3.0",
        "pyannote--wespeaker-voxceleb-resnet34-LM",
    }
    root = models / "pyannote--speaker-diarization-3.1"
    config = yaml.safe_load((root / "config.yaml").read_text())
    params = config["pipeline"]["params"]
    assert params["segmentation"] == "$model/../pyannote--segmentation-3.0"
    assert params["embedding"] == "$model/../pyannote--wespeaker-voxceleb-resnet34-LM"
    for key in ("segmentation", "embedding"):
        assert (root / params[key].removeprefix("$model/") / "pytorch_model.bin").is_file()
    assert config["lahstats_sources"] == {
        "segmentation": "pyannote/segmentation-3.0",
        "embedding": "pyannote/wespeaker-voxceleb-resnet34-LM",
    }
    # everything else as it was
    assert params["clustering"] == "AgglomerativeClustering"
    assert config["params"]["clustering"]["threshold"] == 0.7045654963945799

    # the diarizer's loader takes the rewritten config without asking the hub for anything
    def no_hub(value: str) -> Path:
        raise AssertionError(f"asked the hub for {value}")

    loaded = pipeline_config(root, config, no_hub)["pipeline"]["params"]
    for key in ("segmentation", "embedding"):
        entry = loaded[key]
        assert (Path(entry["checkpoint"]) / entry["subfolder"] / "pytorch_model.bin").is_file()

    printed = _printed_settings(result.stdout)
    assert printed["LAHSTATS_DIARIZER_MODEL"] == str(root)
    assert "segmentation: pyannote/segmentation-3.0 ->" in result.stdout

    # again, with --json: the same, from the files already there
    hub.forget()
    again = _download(tmp_path, "--json", **env)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["directory"] == str(models)
    assert summary["settings"] == printed
    [diarizer] = summary["models"]
    assert (diarizer["role"], diarizer["state"], diarizer["path"]) == (
        "diarizer",
        "downloaded",
        str(root),
    )
    assert {n["key"]: n["model"] for n in diarizer["nested"]} == config["lahstats_sources"]
    assert yaml.safe_load((root / "config.yaml").read_text()) == config
    assert not hub.requests("/pyannote/")  # no file fetched twice
    assert TOKEN not in again.output


def test_a_transformers_model_brings_only_what_the_backend_loads(
    hub: FakeHub, tmp_path: Path
) -> None:
    hub.add(
        "org/asr",
        {
            "config.json": b"{}",
            "generation_config.json": b"{}",
            "preprocessor_config.json": b"{}",
            "tokenizer.json": b"{}",
            "tokenizer_config.json": b"{}",
            "vocab.json": b"{}",
            "merges.txt": b"",
            "spm.model": b"sp",
            "modeling_asr.py": b"# remote code",
            "model-00001-of-00002.safetensors": b"a",
            "model-00002-of-00002.safetensors": b"b",
            "model.safetensors.index.json": b"{}",
            "pytorch_model.bin": b"old weights",
            "flax_model.msgpack": b"flax",
            "README.md": b"#",
        },
    )
    hub.add("org/asr-bin", {"config.json": b"{}", "pytorch_model.bin": b"w", "tf_model.h5": b""})
    result = _download(
        tmp_path, LAHSTATS_TRANSCRIBER="transformers", LAHSTATS_TRANSCRIBER_MODEL="org/asr"
    )
    assert result.exit_code == 0, result.output
    target = (tmp_path / "models" / "org--asr").resolve()
    assert _files(target) == {
        "config.json",
        "generation_config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
        "merges.txt",
        "spm.model",
        "modeling_asr.py",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    }
    assert _printed_settings(result.stdout) == {
        "LAHSTATS_TRANSCRIBER": "transformers",
        "LAHSTATS_TRANSCRIBER_MODEL": str(target),
    }

    # without safetensors the .bin weights come instead
    result = _download(
        tmp_path, LAHSTATS_TRANSCRIBER="transformers", LAHSTATS_TRANSCRIBER_MODEL="org/asr-bin"
    )
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "models" / "org--asr-bin") == {"config.json", "pytorch_model.bin"}


def test_options_add_models_the_settings_do_not_name(hub: FakeHub, tmp_path: Path) -> None:
    hub.add(
        "Systran/faster-whisper-small",
        {
            "model.bin": b"ct2",
            "config.json": b"{}",
            "tokenizer.json": b"{}",
            "vocabulary.txt": b"a",
            "README.md": b"#",
        },
    )
    hub.add(COMMUNITY, COMMUNITY_FILES)
    # embedded defaults: the options name the models, the backend is told from the files
    result = _download(
        tmp_path,
        "--transcriber-model",
        "Systran/faster-whisper-small",
        "--diarizer-model",
        COMMUNITY,
    )
    assert result.exit_code == 0, result.output
    whisper = (tmp_path / "models" / "Systran--faster-whisper-small").resolve()
    assert _files(whisper) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    printed = _printed_settings(result.stdout)
    assert printed["LAHSTATS_TRANSCRIBER"] == "faster-whisper"
    assert printed["LAHSTATS_TRANSCRIBER_MODEL"] == str(whisper)
    assert printed["LAHSTATS_DIARIZER"] == "pyannote"

    settings = Settings(
        transcriber="faster-whisper", transcriber_model=printed["LAHSTATS_TRANSCRIBER_MODEL"]
    )
    status = next(s for s in inspect_models(settings) if s.role == "transcriber")
    assert status.state == "ok"


def test_a_model_already_on_disk_is_left_alone(hub: FakeHub, tmp_path: Path) -> None:
    local = tmp_path / "whisper"
    local.mkdir()
    result = _download(
        tmp_path, LAHSTATS_TRANSCRIBER="faster-whisper", LAHSTATS_TRANSCRIBER_MODEL=str(local)
    )
    assert result.exit_code == 0, result.output
    assert f"{local} is already local, skipped" in result.stdout
    assert _printed_settings(result.stdout) == {}
    assert hub.seen == []


def test_nothing_configured_says_which_settings_or_options_to_give(
    hub: FakeHub, tmp_path: Path
) -> None:
    result = _download(tmp_path, LAHSTATS_DIARIZER="pyannote")
    assert result.exit_code == 1
    for name in ("LAHSTATS_DIARIZER_MODEL", "LAHSTATS_TRANSCRIBER_MODEL", "--diarizer-model"):
        assert name in result.output
    assert hub.seen == []


def test_a_gated_pipeline_without_a_token_fails_with_the_fix(hub: FakeHub, tmp_path: Path) -> None:
    _pipeline_31(hub)
    result = _download(tmp_path, "--diarizer-model", PIPELINE_31)
    assert result.exit_code == 1
    assert "gated" in result.output
    assert "LAHSTATS_HF_TOKEN" in result.output
    assert f"https://huggingface.co/{PIPELINE_31}" in result.output
    assert "Traceback" not in result.output


def test_a_token_without_access_fails_and_is_never_printed(hub: FakeHub, tmp_path: Path) -> None:
    _pipeline_31(hub)
    token = "hf_someone_else_9876543210"
    result = _download(tmp_path, "--diarizer-model", PIPELINE_31, "--json", LAHSTATS_HF_TOKEN=token)
    assert result.exit_code == 1
    assert "not been granted access" in result.output
    assert token not in result.output
    assert {seen.token for seen in hub.requests("/pyannote/")} == {token}


def test_a_path_that_is_neither_on_disk_nor_a_hub_id_is_refused(
    hub: FakeHub, tmp_path: Path
) -> None:
    result = _download(tmp_path, "--transcriber-model", "/no/such/model")
    assert result.exit_code == 1
    assert "no such file or directory, and not a model hub id" in result.output
    assert hub.seen == []


def test_an_unreachable_hub_fails_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    point_hub_at(monkeypatch, f"http://127.0.0.1:{free_port()}", tmp_path / "hf-home")
    monkeypatch.setattr(hub_module, "CONNECT_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    result = _download(tmp_path, "--diarizer-model", COMMUNITY)
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    assert "cannot reach the model hub" in result.output
    assert "HTTPS_PROXY" in result.output
    assert not (tmp_path / "models").exists()


def test_the_installed_command_reaches_the_hub_through_hf_endpoint(
    hub: FakeHub, tmp_path: Path
) -> None:
    hub.add(COMMUNITY, COMMUNITY_FILES, gated=True, granted=(TOKEN,))
    env: dict[str, Any] = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HF_", "LAHSTATS_", "HUGGINGFACE_"))
    }
    env |= hub_environment(hub.url, tmp_path / "hf-home")
    env |= {
        "LAHSTATS_DIARIZER": "pyannote",
        "LAHSTATS_DIARIZER_MODEL": COMMUNITY,
        "LAHSTATS_HF_TOKEN": TOKEN,
    }
    command = Path(sys.executable).parent / "lahstats"
    done = subprocess.run(
        [str(command), "models", "download", "--to", str(tmp_path / "models"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    path = Path(summary["settings"]["LAHSTATS_DIARIZER_MODEL"])
    assert (path / "segmentation" / "pytorch_model.bin").read_bytes() == b"segmentation weights"
    assert TOKEN not in done.stdout + done.stderr
    assert {seen.token for seen in hub.requests("/pyannote/")} == {TOKEN}
    # quiet_hub() ran before huggingface_hub was imported: no telemetry request
    assert hub.requests("/api/agent-harnesses") == []
