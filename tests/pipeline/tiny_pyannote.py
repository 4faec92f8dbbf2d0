"""pyannote pipelines with the real architectures and random weights, built in a directory.

The real weights of pyannote's pipelines come from the model hub, which these machines cannot
reach. These are checkpoints pyannote's own loaders read exactly as they read the real ones:
a segmentation-3.0 PyanNet (powerset, 3 speakers, at most 2 at once), a WeSpeaker ResNet34
embedding, and, for community-1, a PLDA of the same shapes; with a ``config.yaml`` laid out like
community-1's (one repo, ``$model/`` subfolders) or like 3.1's (models named by path).
Random weights hear random speakers: tests on them check the contract, not the answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

EMBEDDING_DIMENSION = 256
LDA_DIMENSION = 128


def _checkpoint(model: Any) -> dict[str, Any]:
    import lightning
    import pyannote.audio

    return {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "pyannote.audio": {
            "versions": {"pyannote.audio": pyannote.audio.__version__},
            "architecture": {
                "module": type(model).__module__,
                "class": type(model).__name__,
            },
            "specifications": model.specifications,
        },
    }


def write_segmentation(directory: Path, *, seed: int = 0) -> Path:
    """segmentation-3.0's architecture: SincNet, 4 BiLSTM layers of 128, powerset output."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(seed)
    model = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 128, "num_layers": 4})
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        min_duration=None,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pytorch_model.bin"
    torch.save(_checkpoint(model), path)
    return path


def write_embedding(directory: Path, *, seed: int = 1) -> Path:
    """WeSpeaker ResNet34 (community-1's and wespeaker-voxceleb-resnet34-LM's architecture)."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    torch.manual_seed(seed)
    model = WeSpeakerResNet34()
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0
    )
    model.build()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pytorch_model.bin"
    torch.save(_checkpoint(model), path)
    return path


def write_plda(directory: Path, *, seed: int = 2) -> None:
    """A PLDA of community-1's shapes: x-vector transform 256 -> 128 and a 128-d PLDA."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.normal(size=(EMBEDDING_DIMENSION, LDA_DIMENSION)))
    np.savez(
        directory / "xvec_transform.npz",
        mean1=rng.normal(scale=0.01, size=EMBEDDING_DIMENSION),
        mean2=rng.normal(scale=0.01, size=LDA_DIMENSION),
        lda=lda,
    )
    transform, _ = np.linalg.qr(rng.normal(size=(LDA_DIMENSION, LDA_DIMENSION)))
    np.savez(
        directory / "plda.npz",
        mu=np.zeros(LDA_DIMENSION),
        tr=transform,
        psi=np.sort(rng.uniform(0.5, 5.0, size=LDA_DIMENSION))[::-1],
    )


def community1(directory: Path) -> Path:
    """A pipeline laid out like pyannote/speaker-diarization-community-1; returns the directory."""
    write_segmentation(directory / "segmentation")
    write_embedding(directory / "embedding")
    write_plda(directory / "plda")
    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "VBxClustering",
                "embedding": "$model/embedding",
                "embedding_batch_size": 8,
                "embedding_exclude_overlap": True,
                "plda": "$model/plda",
                "segmentation": "$model/segmentation",
                "segmentation_batch_size": 8,
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    return directory


def v31(directory: Path, *, segmentation: str, embedding: str) -> Path:
    """A pipeline laid out like pyannote/speaker-diarization-3.1: agglomerative clustering, its
    models named by ``segmentation`` and ``embedding`` (paths or hub ids); returns config.yaml."""
    config = {
        "version": "3.1.0",
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "AgglomerativeClustering",
                "embedding": embedding,
                "embedding_batch_size": 8,
                "embedding_exclude_overlap": True,
                "segmentation": segmentation,
                "segmentation_batch_size": 8,
            },
        },
        "params": {
            "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
