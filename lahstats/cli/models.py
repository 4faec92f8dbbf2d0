"""``lahstats models download --to DIR``: the configured production models, fetched for a server
that has no network.

Each hub id the settings (or ``--diarizer-model`` / ``--transcriber-model``) name is downloaded
into ``DIR/<org>--<name>`` with only the files its backend loads; a pyannote 3.1-style pipeline
whose ``config.yaml`` names other repos (``pyannote/segmentation-3.0``) gets those beside it, and
its config is rewritten to ``$model/../<org>--<name>`` so DIR can be copied anywhere. At the end
the command prints the settings that point a server at DIR. A setting that is already a path is
left alone. The hub is tried once with a short timeout before anything is fetched, and every
failure says what to do. The token is sent to the hub only: never printed.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import click

from lahstats.errors import LahstatsError, ModelUnavailable
from lahstats.pipeline.hub import HubId, check_reachable, hub_errors, hub_id, quiet_hub
from lahstats.settings import Settings, get_settings

Role = Literal["diarizer", "transcriber"]
# The file whose presence makes a directory a model of the backend (backends.inspect_models).
MARKERS = {"pyannote": "config.yaml", "faster-whisper": "model.bin", "transformers": "config.json"}
# Top-level key of a rewritten config.yaml: the hub ids its model entries had.
SOURCES_KEY = "lahstats_sources"
_SETTINGS = {"diarizer": "LAHSTATS_DIARIZER", "transcriber": "LAHSTATS_TRANSCRIBER"}
_PRODUCTION_TRANSCRIBERS = ("faster-whisper", "transformers")
_DISK_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True, slots=True)
class Wanted:
    role: Role
    model: str
    setting: str  # where the model came from: the setting or the option


@dataclass(frozen=True, slots=True)
class Nested:
    key: str  # segmentation, embedding, plda
    model: str
    path: str


@dataclass(frozen=True, slots=True)
class Fetched:
    role: Role
    model: str
    backend: str | None
    state: Literal["downloaded", "local"]
    path: str
    files: int = 0
    nested: tuple[Nested, ...] = ()


@click.group()
def models() -> None:
    """Production models: fetch them for a server without network."""


@models.command("download")
@click.option(
    "--to",
    "directory",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to fill, one subdirectory per model (created when absent).",
)
@click.option(
    "--diarizer-model",
    default=None,
    help="pyannote pipeline hub id (org/name[@revision]) instead of LAHSTATS_DIARIZER_MODEL.",
)
@click.option(
    "--transcriber-model",
    default=None,
    help="Transcriber hub id instead of LAHSTATS_TRANSCRIBER_MODEL.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def download(
    directory: Path, diarizer_model: str | None, transcriber_model: str | None, as_json: bool
) -> None:
    """Download the configured production models into DIR and print the settings that use it."""
    settings = get_settings()
    wanted = wanted_models(settings, diarizer_model, transcriber_model)
    # huggingface_hub's progress bars on a terminal (a model is gigabytes); none in a log
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "0" if sys.stderr.isatty() else "1")
    directory = directory.expanduser().resolve()
    try:
        check_hub(wanted)
        fetched = [fetch(item, directory, settings) for item in wanted]
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    lines = settings_lines(fetched)
    if as_json:
        summary = {
            "directory": str(directory),
            "models": [asdict(item) for item in fetched],
            "settings": lines,
        }
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(render(fetched, lines))


def wanted_models(
    settings: Settings, diarizer_model: str | None, transcriber_model: str | None
) -> list[Wanted]:
    """The models to fetch: the options, else the settings of the production backends."""
    found: list[Wanted] = []
    if diarizer_model:
        found.append(Wanted("diarizer", diarizer_model, "--diarizer-model"))
    elif settings.diarizer == "pyannote" and settings.diarizer_model:
        found.append(Wanted("diarizer", settings.diarizer_model, "LAHSTATS_DIARIZER_MODEL"))
    if transcriber_model:
        found.append(Wanted("transcriber", transcriber_model, "--transcriber-model"))
    elif settings.transcriber in _PRODUCTION_TRANSCRIBERS and settings.transcriber_model:
        found.append(
            Wanted("transcriber", settings.transcriber_model, "LAHSTATS_TRANSCRIBER_MODEL")
        )
    if not found:
        raise click.ClickException(
            "nothing to download: no production model is configured "
            f"(LAHSTATS_DIARIZER={settings.diarizer}, "
            f"LAHSTATS_TRANSCRIBER={settings.transcriber}). Set LAHSTATS_DIARIZER=pyannote "
            "with LAHSTATS_DIARIZER_MODEL, and/or LAHSTATS_TRANSCRIBER=faster-whisper or "
            "transformers with LAHSTATS_TRANSCRIBER_MODEL, or pass --diarizer-model / "
            "--transcriber-model (e.g. --diarizer-model "
            "pyannote/speaker-diarization-community-1)."
        )
    return found


def check_hub(wanted: list[Wanted]) -> None:
    """Each model is a path or a hub id, and the hub answers when one is to be downloaded: a hub
    that cannot be reached fails in seconds, not after huggingface_hub's retries."""
    remote = [(item, hub_id(item.model)) for item in wanted if not _is_local(item.model)]
    for item, found in remote:
        if found is None:
            raise ModelUnavailable(
                f"{item.setting}={item.model}: no such file or directory, and not a model hub id",
                hint="Give a hub id like org/name (optionally org/name@revision) or an existing "
                "directory.",
            )
    if remote:
        quiet_hub()
        first, found = remote[0]
        assert found is not None
        check_reachable(
            found,
            setting=first.setting,
            hint="Run this where the model hub can be reached (a proxy goes in HTTPS_PROXY, a "
            "mirror in HF_ENDPOINT), then copy the directory to the server.",
        )


def _is_local(model: str) -> bool:
    return Path(model).expanduser().exists()


def fetch(item: Wanted, directory: Path, settings: Settings) -> Fetched:
    if _is_local(item.model):
        path = Path(item.model).expanduser().resolve()
        return Fetched(item.role, item.model, None, "local", str(path))
    found = hub_id(item.model)
    assert found is not None  # checked by check_hub
    if item.role == "diarizer":
        return _fetch_pipeline(item, found, directory, settings)
    return _fetch_transcriber(item, found, directory, settings)


def _fetch_pipeline(item: Wanted, found: HubId, directory: Path, settings: Settings) -> Fetched:
    """The pipeline, and each other repo its config.yaml names, downloaded side by side; the
    config then names them as ``$model/../<org>--<name>`` and keeps the ids under
    ``lahstats_sources`` (pyannote ignores the key; a later run fetches them from it again)."""
    from lahstats.pipeline.pyannote import MODEL_KEYS, PIPELINE_FILES

    target = _snapshot(
        found, directory, setting=item.setting, settings=settings, allow=PIPELINE_FILES
    )
    config_file = _marker(found, target, "pyannote", item.setting)
    config = _read_config(config_file)
    before = _dump(config)
    params = config["pipeline"].get("params") or {}
    sources = config.get(SOURCES_KEY) or {}
    nested: list[Nested] = []
    for key in MODEL_KEYS:
        origin = sources.get(key, params.get(key))
        if not isinstance(origin, str) or origin.startswith("$") or (target / origin).exists():
            continue
        other = hub_id(origin)
        if other is None:
            continue
        path = _snapshot(
            other,
            directory,
            setting=f"{item.setting}, {key} in its config.yaml",
            settings=settings,
            allow=PIPELINE_FILES,
        )
        params[key] = f"$model/../{path.name}"
        sources[key] = origin
        nested.append(Nested(key, origin, str(path)))
    if nested:
        config["pipeline"]["params"] = params
        config[SOURCES_KEY] = sources
        if _dump(config) != before:
            config_file.write_text(_dump(config))
    return Fetched(
        item.role,
        item.model,
        "pyannote",
        "downloaded",
        str(target),
        _count(target),
        tuple(nested),
    )


def _read_config(config_file: Path) -> dict[str, Any]:
    import yaml

    try:
        config = yaml.safe_load(config_file.read_text())
    except yaml.YAMLError as exc:
        raise ModelUnavailable(
            f"{config_file} is not valid YAML: {exc}",
            hint="Check that the model is a pyannote pipeline (see docs/models.md).",
        ) from exc
    if not isinstance(config, dict) or not isinstance(config.get("pipeline"), dict):
        raise ModelUnavailable(
            f"{config_file} is not a pyannote pipeline config (no 'pipeline' section)",
            hint="Use a pyannote speaker-diarization pipeline, e.g. "
            "pyannote/speaker-diarization-community-1.",
        )
    return config


def _dump(config: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(config, sort_keys=False, default_flow_style=False))


def _fetch_transcriber(item: Wanted, found: HubId, directory: Path, settings: Settings) -> Fetched:
    """The files the backend's loader reads (its own patterns): for transformers the
    safetensors weights, or the PyTorch .bin ones when the checkpoint has no safetensors."""
    from lahstats.pipeline.recognisers.transformers import BIN_WEIGHTS, MODEL_FILES
    from lahstats.pipeline.transcribe import CTRANSLATE2_FILES

    backend = settings.transcriber if settings.transcriber in _PRODUCTION_TRANSCRIBERS else None
    allow: tuple[str, ...] = CTRANSLATE2_FILES
    if backend != "faster-whisper":
        files = _repo_files(found, item.setting, settings)
        if backend is None:  # --transcriber-model without a production backend set: guess
            ctranslate2 = "model.bin" in files and not any(
                name.endswith(".safetensors") for name in files
            )
            backend = "faster-whisper" if ctranslate2 else "transformers"
        if backend == "transformers":
            safetensors = any(name.endswith(".safetensors") for name in files)
            allow = MODEL_FILES if safetensors else (*MODEL_FILES, *BIN_WEIGHTS)
    target = _snapshot(found, directory, setting=item.setting, settings=settings, allow=allow)
    _marker(found, target, backend, item.setting)
    return Fetched(item.role, item.model, backend, "downloaded", str(target), _count(target))


def _repo_files(found: HubId, setting: str, settings: Settings) -> list[str]:
    from huggingface_hub import HfApi

    token = settings.hf_token
    with hub_errors(found, setting=setting, token=token):
        return HfApi().list_repo_files(
            found.repo,
            revision=found.revision,
            token=token.get_secret_value() if token is not None else None,
        )


def _snapshot(
    found: HubId, directory: Path, *, setting: str, settings: Settings, allow: tuple[str, ...]
) -> Path:
    from huggingface_hub import snapshot_download

    target = directory / found.repo.replace("/", "--")
    click.echo(f"fetching {found} into {target}", err=True)
    token = settings.hf_token
    with hub_errors(found, setting=setting, token=token):
        try:
            return Path(
                snapshot_download(
                    found.repo,
                    revision=found.revision,
                    local_dir=target,
                    allow_patterns=list(allow),
                    cache_dir=settings.model_cache_dir,
                    token=token.get_secret_value() if token is not None else None,
                )
            )
        except OSError as exc:
            if exc.errno not in _DISK_ERRORS:
                raise
            raise ModelUnavailable(
                f"cannot write {found} into {target}: {exc.strerror}",
                hint="Give --to a directory on a disk with room that you can write to.",
            ) from exc


def _marker(found: HubId, target: Path, backend: str, setting: str) -> Path:
    marker = target / MARKERS[backend]
    if not marker.is_file():
        raise ModelUnavailable(
            f"{found} has no {MARKERS[backend]}: it is not a {backend} model ({setting})",
            hint="Check the id; see docs/models.md for the models each backend loads.",
        )
    return marker


def _count(target: Path) -> int:
    # not huggingface_hub's bookkeeping in DIR/<model>/.cache
    return sum(
        1
        for path in target.rglob("*")
        if path.is_file() and ".cache" not in path.relative_to(target).parts
    )


def settings_lines(fetched: list[Fetched]) -> dict[str, str]:
    """The settings that point a server at the downloaded copies."""
    lines: dict[str, str] = {}
    for item in fetched:
        if item.state != "downloaded" or item.backend is None:
            continue
        lines[_SETTINGS[item.role]] = item.backend
        lines[f"{_SETTINGS[item.role]}_MODEL"] = item.path
    return lines


def render(fetched: list[Fetched], lines: dict[str, str]) -> str:
    out = []
    for item in fetched:
        if item.state == "local":
            out.append(f"{item.role}: {item.model} is already local, skipped")
            continue
        files = f"{item.files} file" + ("" if item.files == 1 else "s")
        out.append(f"{item.role}: {item.model} -> {item.path} ({files})")
        out.extend(f"  {n.key}: {n.model} -> {n.path}" for n in item.nested)
    if lines:
        out.append("")
        out.append("Settings for a server that uses these copies (change the paths if DIR moves):")
        out.extend(f"{name}={value}" for name, value in lines.items())
    return "\n".join(out)
