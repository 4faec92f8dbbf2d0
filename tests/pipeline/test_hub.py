"""Models from a path or the model hub: served from the cache without the network, every failure
fast and saying what to do. The hub is ``tests/fakehub.py`` on 127.0.0.1, spoken to by the real
huggingface_hub."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

import lahstats.pipeline.hub as hub_module
from lahstats.errors import ModelUnavailable
from lahstats.pipeline.backends import inspect_models
from lahstats.pipeline.hub import HubId, hub_id, local_model
from lahstats.settings import Settings
from tests.conftest import free_port
from tests.fakehub import FakeHub, black_hole, point_hub_at, serving

SETTING = "LAHSTATS_TRANSCRIBER_MODEL"
FILES = {
    "config.json": b'{"model_type": "whisper"}',
    "model.safetensors": b"weights" * 100,
    "README.md": b"# a model card",
    "sub/tokenizer.json": b"{}",
}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    with serving(monkeypatch, tmp_path / "hf-home") as started:
        yield started


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _tree(path: Path) -> dict[str, bytes]:
    return {
        found.relative_to(path).as_posix(): found.read_bytes()
        for found in path.rglob("*")
        if found.is_file()
    }


def test_a_local_path_is_taken_as_it_is_without_asking_the_hub(
    hub: FakeHub, tmp_path: Path
) -> None:
    directory = tmp_path / "org" / "model"  # looks like a hub id when relative
    directory.mkdir(parents=True)
    assert local_model(str(directory), setting=SETTING) == directory
    config = directory / "config.yaml"
    config.write_text("pipeline: {}\n")
    assert local_model(str(config), setting=SETTING) == config
    # relative to the working directory (tests run in tmp_path)
    assert local_model("org/model", setting=SETTING) == Path("org/model")
    assert hub.seen == []


def test_a_missing_path_says_so_without_asking_the_hub(hub: FakeHub) -> None:
    with pytest.raises(ModelUnavailable, match="no such file or directory") as caught:
        local_model("/no/such/model", setting=SETTING)
    assert "hub id" in caught.value.hint
    assert hub.seen == []


def test_a_hub_id_is_downloaded_once_then_served_from_the_cache_even_when_the_hub_is_down(
    hub: FakeHub, cache: Path
) -> None:
    hub.add("org/model", FILES)
    patterns = ["*.json", "*.safetensors"]

    path = local_model("org/model", setting=SETTING, allow_patterns=patterns, cache_dir=cache)
    assert path.is_relative_to(cache)
    assert _tree(path) == {name: data for name, data in FILES.items() if name != "README.md"}
    methods = {(seen.method, seen.path.split("/resolve/")[0]) for seen in hub.seen}
    assert ("GET", "/api/models/org/model/revision/main") in methods
    assert ("GET", "/org/model") in methods

    hub.forget()
    again = local_model("org/model", setting=SETTING, allow_patterns=patterns, cache_dir=cache)
    assert again == path
    assert hub.seen == []

    hub.stop()
    assert local_model("org/model", setting=SETTING, allow_patterns=patterns, cache_dir=cache) == (
        path
    )


def test_a_pinned_revision_is_what_is_downloaded(hub: FakeHub, cache: Path) -> None:
    main = hub.add("org/model", {"config.json": b'{"v": 2}'})
    hub.add("org/model", {"config.json": b'{"v": 1}'}, revision="v1")

    tagged = local_model("org/model@v1", setting=SETTING, cache_dir=cache)
    assert (tagged / "config.json").read_bytes() == b'{"v": 1}'
    assert "/api/models/org/model/revision/v1" in {seen.path for seen in hub.seen}

    hub.forget()
    pinned = local_model(f"org/model@{main}", setting=SETTING, cache_dir=cache)
    assert (pinned / "config.json").read_bytes() == b'{"v": 2}'
    assert pinned.name == main
    # a commit needs no resolving: no revision request, the files straight from that commit
    assert not [seen for seen in hub.seen if "/revision/" in seen.path]


def test_a_gated_model_without_a_token_says_to_accept_and_set_the_token(
    hub: FakeHub, cache: Path
) -> None:
    hub.add("org/gated", FILES, gated=True, granted=("hf_granted",))
    with pytest.raises(ModelUnavailable) as caught:
        local_model("org/gated", setting=SETTING, cache_dir=cache)
    error = caught.value
    assert "gated" in error.message
    assert SETTING in error.message
    assert "LAHSTATS_HF_TOKEN" in error.hint
    assert "https://huggingface.co/org/gated" in error.hint
    assert hub.seen
    assert not any(seen.authorized for seen in hub.seen)


def test_a_token_without_access_says_to_accept_the_conditions_and_is_never_shown(
    hub: FakeHub, cache: Path
) -> None:
    hub.add("org/gated", FILES, gated=True, granted=("hf_granted",))
    token = "hf_notgranted_0123456789"
    with pytest.raises(ModelUnavailable) as caught:
        local_model("org/gated", setting=SETTING, token=SecretStr(token), cache_dir=cache)
    error = caught.value
    assert "not been granted access" in error.message
    assert "accept the conditions at https://huggingface.co/org/gated" in error.hint
    assert token not in str(error)
    assert token not in repr(error)
    assert {seen.token for seen in hub.seen} == {token}

    granted = local_model(
        "org/gated", setting=SETTING, token=SecretStr("hf_granted"), cache_dir=cache
    )
    assert (granted / "config.json").read_bytes() == FILES["config.json"]


def test_an_unknown_model_or_revision_is_named(hub: FakeHub, cache: Path) -> None:
    hub.add("org/model", FILES)
    with pytest.raises(ModelUnavailable, match=r"no model org/nope \(or it is private\)") as no:
        local_model("org/nope", setting=SETTING, cache_dir=cache)
    assert "spelling" in no.value.hint
    with pytest.raises(ModelUnavailable, match="org/model has no revision v9") as rev:
        local_model("org/model@v9", setting=SETTING, cache_dir=cache)
    assert "@revision" in rev.value.hint


@pytest.fixture(params=["closed-port", "black-hole"])
def no_hub(request: pytest.FixtureRequest) -> Iterator[str]:
    """An endpoint where nothing answers: a closed port (refused at once), or one whose packets
    are dropped (what a server without a route out sees; only the connect timeout ends it)."""
    if request.param == "closed-port":
        yield f"http://127.0.0.1:{free_port()}"
        return
    with black_hole() as endpoint:
        yield endpoint


def test_no_network_fails_fast_and_says_to_download_elsewhere(
    no_hub: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    point_hub_at(monkeypatch, no_hub, tmp_path / "hf-home")
    monkeypatch.setattr(hub_module, "CONNECT_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="cannot reach the model hub") as caught:
        local_model("org/model", setting=SETTING, cache_dir=cache)
    elapsed = time.monotonic() - started
    assert elapsed < 10  # loosely: without the check, huggingface_hub retries for ~23 s
    assert no_hub in caught.value.message
    assert caught.value.message.endswith(("Connection refused", "no answer in 0.5 s"))
    assert "lahstats models download --to DIR" in caught.value.hint
    assert SETTING in caught.value.hint


@pytest.mark.parametrize("status", [426, 502])
def test_something_answering_in_place_of_the_hub_is_said_plainly(
    status: int, hub: FakeHub, cache: Path
) -> None:
    hub.add("org/model", FILES)
    hub.outage = status  # a proxy that wants something else, or the hub down
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match=f"it answered HTTP {status}") as caught:
        local_model("org/model", setting=SETTING, cache_dir=cache)
    assert time.monotonic() - started < 10
    assert hub.url in caught.value.message
    assert "HTTPS_PROXY" in caught.value.hint
    assert "HF_HUB_OFFLINE" not in caught.value.hint


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "pyannote/speaker-diarization-community-1",
            HubId("pyannote/speaker-diarization-community-1"),
        ),
        ("openai/whisper-large-v3@main", HubId("openai/whisper-large-v3", "main")),
        ("org/name@0123abc", HubId("org/name", "0123abc")),
        ("org/name@", HubId("org/name")),
        ("MERaLiON/MERaLiON-2-10B", HubId("MERaLiON/MERaLiON-2-10B")),
        ("/abs/org/name", None),
        ("./org/name", None),
        ("~/org/name", None),
        ("../name", None),
        ("org/..", None),
        ("../..", None),
        ("a/b/c", None),
        ("name", None),
        ("org/", None),
        ("/", None),
        ("$model/segmentation", None),
        ("org name/x", None),
        ("org--x/name", None),
        ("org/.hidden", None),
    ],
    ids=lambda value: str(value) if value is not None else "path",
)
def test_hub_ids_are_told_from_paths(model: str, expected: HubId | None) -> None:
    assert hub_id(model) == expected


def test_a_hub_id_in_the_cache_is_reported_usable_without_the_network(
    hub: FakeHub, cache: Path
) -> None:
    hub.add("org/whisper", {"model.bin": b"ct2", "config.json": b"{}"})
    settings = Settings(
        transcriber="faster-whisper", transcriber_model="org/whisper", model_cache_dir=cache
    )
    before = next(s for s in inspect_models(settings) if s.role == "transcriber")
    assert before.state == "remote"

    snapshot = local_model("org/whisper", setting=SETTING, cache_dir=cache)
    hub.stop()
    after = next(s for s in inspect_models(settings) if s.role == "transcriber")
    assert (after.state, after.location) == ("ok", str(snapshot))
    assert "model cache" in after.detail


def test_telemetry_stays_off_when_huggingface_hub_was_imported_first(
    hub: FakeHub, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    # as if imported before quiet_hub() set HF_HUB_DISABLE_TELEMETRY, with no agent list cached
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", False)
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agents.json"))
    monkeypatch.setattr(_detect_agent, "_registry", None)
    monkeypatch.delenv("HF_HUB_DISABLE_TELEMETRY", raising=False)
    hub.add("org/model", FILES)
    local_model("org/model", setting=SETTING, cache_dir=cache)
    assert hub.seen
    assert hub.requests("/api/agent-harnesses") == []
