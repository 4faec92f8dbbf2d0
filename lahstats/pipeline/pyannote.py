"""Who spoke when with pyannote.audio 4, and its embedding model for voiceprints.

``LAHSTATS_DIARIZER=pyannote`` with ``LAHSTATS_DIARIZER_MODEL`` set to a hub id
(``pyannote/speaker-diarization-community-1``, ``pyannote/speaker-diarization-3.1``), a local
directory holding ``config.yaml``, or that file. Every model the config names is resolved to disk
here, through ``hub.local_model`` (cache first, a short reachability check, errors with hints),
and the config is handed to pyannote with those paths: community-1's ``$model/segmentation``
entries become its own subfolders, 3.1's references to other repos
(``pyannote/segmentation-3.0``) become their snapshots. pyannote itself is never left to download,
so it cannot retry an absent network for minutes or print to stdout.

The recording is handed over as a waveform: pyannote decodes nothing (no torchcodec, no
torchaudio I/O). Its metrics telemetry is forced off before it is imported.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from pickle import UnpicklingError
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import SecretStr

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.backends import gpu_memory, resolve_device
from lahstats.pipeline.hub import HubId, hub_errors, hub_id, local_model, quiet_hub, token_value
from lahstats.pipeline.types import (
    SAMPLE_RATE,
    Audio,
    ProgressHook,
    Samples,
    SpeakerHints,
    Turn,
)

if TYPE_CHECKING:
    from lahstats.settings import Settings

STAGE = "diarize"
SETTING = "LAHSTATS_DIARIZER_MODEL"
# What a pipeline repo holds: its config, each model's checkpoint, the PLDA of community-1.
PIPELINE_FILES = ("*.yaml", "*.bin", "*.npz", "*.safetensors", "*.json")
# The keys of a SpeakerDiarization config that name a model or a PLDA.
MODEL_KEYS = ("segmentation", "embedding", "plda")
# A voice is embedded in windows of this many seconds (the length pyannote embeds), averaged.
VOICE_WINDOW_SECONDS = 10.0
# Progress: share of the stage taken by each of pyannote's steps, in the order it runs them.
_STEP_SHARES = {"segmentation": 0.3, "speaker_counting": 0.35, "embeddings": 0.95}


def pipeline_config(
    root: Path,
    config: dict[str, Any],
    resolve: Callable[[str], Path],
) -> dict[str, Any]:
    """``config`` (a parsed ``config.yaml`` found in ``root``) with each model entry as a
    ``{"checkpoint": directory}`` pyannote loads from disk: ``$model/sub`` is ``root/sub``, a
    path stays (relative to ``root``), a hub id is ``resolve(id)``. ``ModelUnavailable`` when an
    entry is neither."""
    params = dict(config.get("pipeline", {}).get("params", {}))
    for key in MODEL_KEYS:
        value = params.get(key)
        if not isinstance(value, str):
            continue
        if value.startswith("$model/"):
            subfolder = value.removeprefix("$model/").split("@", 1)[0]
            params[key] = {"checkpoint": str(root), "subfolder": subfolder}
            continue
        local = Path(value).expanduser()
        local = local if local.is_absolute() else root / local
        if local.exists():
            params[key] = {"checkpoint": str(local)}
        elif hub_id(value) is not None:
            params[key] = {"checkpoint": str(resolve(value))}
        else:
            raise ModelUnavailable(
                f"the pipeline config in {root} names {key} {value!r}, which is neither a "
                "directory there nor a model hub id",
                hint="Fix config.yaml, or download the pipeline again with "
                "`lahstats models download --to DIR`.",
            )
    return {**config, "pipeline": {**config["pipeline"], "params": params}}


def _identity(path: Path) -> str:
    """A short digest of a model's weights: the same weights anywhere get the same name."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _weights(entry: Any) -> Path | None:
    if not isinstance(entry, dict) or "checkpoint" not in entry:
        return None
    base = Path(entry["checkpoint"]) / entry.get("subfolder", "")
    found = base if base.is_file() else base / "pytorch_model.bin"
    return found if found.is_file() else None


OOM_HINT = (
    "Set LAHSTATS_DIARIZER_BATCH_SIZE lower (e.g. 8), free the GPU of other work, or run on the "
    "CPU with LAHSTATS_DEVICE=cpu."
)


@dataclass(frozen=True, slots=True)
class PyannoteDiarizer:
    """A loaded pyannote SpeakerDiarization pipeline on its device."""

    pipeline: Any
    device: str
    voice_name: str
    name: str = "pyannote"

    def diarize(
        self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook
    ) -> tuple[Turn, ...]:
        import torch

        if len(audio.samples) == 0:
            return ()
        on_progress(STAGE, 0, 100)
        quiet_hub()  # its telemetry switch is read at every call: keep it off
        waveform = torch.from_numpy(np.ascontiguousarray(audio.samples, dtype=np.float32))[None]

        def hook(step: str, _artefact: Any, *, file: Any = None, **more: Any) -> None:
            share = _STEP_SHARES.get(step)
            total, completed = more.get("total"), more.get("completed")
            if step == "embeddings" and total and completed is not None:
                share = 0.35 + 0.6 * min(1.0, (completed + 1) / total)
            if share is not None:
                on_progress(STAGE, int(100 * share), 100)

        with gpu_memory("diarizing", OOM_HINT), warnings.catch_warnings():
            # pyannote warns about its own internals on short or quiet input (std of one frame,
            # TF32 switches); none of it is ours to act on
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            output = self.pipeline(
                {"waveform": waveform, "sample_rate": audio.sample_rate},
                num_speakers=hints.exact,
                min_speakers=hints.minimum,
                max_speakers=hints.maximum,
                hook=hook,
            )
        annotation = getattr(output, "speaker_diarization", output)
        turns = [
            (float(segment.start), float(segment.end), str(label))
            for segment, _track, label in annotation.itertracks(yield_label=True)
        ]
        on_progress(STAGE, 100, 100)
        return relabel(turns, audio.duration)

    def voice_embedder(self) -> PyannoteVoice:
        return PyannoteVoice(self.pipeline._embedding, self.voice_name)


def relabel(turns: list[tuple[float, float, str]], duration: float) -> tuple[Turn, ...]:
    """Turns clipped to the audio, sorted, labelled SPEAKER_00.. in order of first appearance."""
    kept = sorted(
        (max(0.0, start), min(duration, end), label)
        for start, end, label in turns
        if min(duration, end) > max(0.0, start)
    )
    names: dict[str, str] = {}
    for _start, _end, label in kept:
        names.setdefault(label, f"SPEAKER_{len(names):02d}")
    return tuple(Turn(names[label], start, end) for start, end, label in kept)


class PyannoteVoice:
    """Whole voices in the space of the pipeline's own embedding model: the mean of the unit
    embeddings of 10 s windows (the length pyannote embeds), as a unit vector."""

    def __init__(self, embedding: Any, name: str) -> None:
        self._embedding = embedding
        self.name = name

    def embed(self, samples: Samples) -> npt.NDArray[np.float32]:
        import torch

        window = int(VOICE_WINDOW_SECONDS * SAMPLE_RATE)
        starts = list(range(0, max(1, len(samples) - window + 1), window))
        if len(samples) > window and starts[-1] + window < len(samples):
            starts.append(len(samples) - window)
        pieces = np.stack([samples[start : start + window] for start in starts]).astype(np.float32)
        with torch.inference_mode(), gpu_memory("embedding a voice", OOM_HINT):
            vectors = np.asarray(self._embedding(torch.from_numpy(pieces)[:, None]))
        vectors = vectors[np.all(np.isfinite(vectors), axis=1)]
        if len(vectors) == 0:
            return np.zeros(self._dimension(), np.float32)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        mean = vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        unit: npt.NDArray[np.float32] = (mean / norm if norm > 0 else mean).astype(np.float32)
        return unit

    def _dimension(self) -> int:
        return int(getattr(self._embedding, "dimension", 256))


def load_pyannote(settings: Settings) -> PyannoteDiarizer:
    """The pipeline the settings name, loaded once per process and configuration."""
    if not settings.diarizer_model:
        raise ModelUnavailable(
            f"{SETTING} is not set",
            hint=f"Set {SETTING} to pyannote/speaker-diarization-community-1 (with "
            "LAHSTATS_HF_TOKEN), or to a directory from `lahstats models download --to DIR`.",
        )
    return _load(
        settings.diarizer_model,
        resolve_device(settings.device),
        settings.hf_token,
        settings.model_cache_dir,
        settings.diarizer_batch_size,
    )


@lru_cache(maxsize=2)
def _load(
    model: str,
    device: str,
    token: SecretStr | None,
    cache_dir: Path | None,
    batch_size: int | None,
) -> PyannoteDiarizer:
    quiet_hub()
    try:
        import torch
        import yaml
        from pyannote.audio import Pipeline
    except ImportError as error:
        raise ModelUnavailable(
            f"pyannote.audio cannot be imported: {error}",
            hint="Install the extra: `pip install 'lahstats[pyannote]'`, then run "
            "`python scripts/torchaudio_pure.py` (see docs/models.md).",
        ) from error

    def resolve(value: str) -> Path:
        return local_model(
            value, setting=SETTING, token=token, allow_patterns=PIPELINE_FILES, cache_dir=cache_dir
        )

    where = resolve(model)
    config_file = where if where.is_file() else where / "config.yaml"
    if not config_file.is_file():
        raise ModelUnavailable(
            f"no config.yaml in {where} ({SETTING})",
            hint="Point the setting at a pyannote pipeline: a hub id like "
            "pyannote/speaker-diarization-community-1, or a directory holding its config.yaml.",
        )
    config = yaml.safe_load(config_file.read_text())
    if not isinstance(config, dict) or "pipeline" not in config:
        raise ModelUnavailable(
            f"{config_file} is not a pyannote pipeline config (no 'pipeline' section)",
            hint="Use the config.yaml of a pyannote speaker-diarization pipeline.",
        )
    config = pipeline_config(config_file.parent, config, resolve)
    params = config["pipeline"]["params"]
    if params.get("clustering", "VBxClustering") != "VBxClustering" and "plda" not in params:
        # 3.1-style pipelines cluster without a PLDA, but pyannote 4 loads its default one (from
        # community-1 on the hub) whenever none is named, and never uses it: an empty one stands in
        from pyannote.audio.core.plda import PLDA

        params["plda"] = PLDA.__new__(PLDA)
    source = hub_id(model) or HubId(model)
    with hub_errors(source, setting=SETTING, token=token):
        try:
            pipeline = Pipeline.from_pretrained(config, token=token_value(token))
        except (
            FileNotFoundError,
            EOFError,
            KeyError,
            RuntimeError,
            ValueError,
            UnpicklingError,
        ) as error:
            raise ModelUnavailable(
                f"the pyannote pipeline in {config_file.parent} could not be loaded: {error}",
                hint="Check that the directory holds a complete pipeline (download it again "
                "with `lahstats models download --to DIR`).",
            ) from error
    if pipeline is None:
        raise ModelUnavailable(f"pyannote could not build a pipeline from {config_file}")
    if batch_size is not None:
        pipeline.embedding_batch_size = batch_size
        pipeline.segmentation_batch_size = batch_size
    with gpu_memory("loading the diarization models", OOM_HINT):
        pipeline.to(torch.device(device))
    weights = _weights(params.get("embedding"))
    voice = f"pyannote-embedding:{_identity(weights)}" if weights else f"pyannote:{model}"[:128]
    return PyannoteDiarizer(pipeline, device, voice)
