"""The embeddings behind the voiceprints, analysed: can the service tell these people apart?

Works on stored embeddings only (each claimed speaker's and enrolment's vector is kept in the
database, so nothing is recomputed). Per user: how spread their own embeddings are around their
voiceprint, whose voiceprint is nearest and by what margin; overall: the silhouette of the
embeddings clustered by user (1: tight, well-separated voices; near 0 or below: overlapping).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lahstats.speakers.matching import Vector, from_bytes, robust_average
from lahstats.storage.repositories.voices import StoredEmbedding


@dataclass(frozen=True, slots=True)
class UserVoice:
    user_id: uuid.UUID
    name: str
    embeddings: int
    kept: int  # embeddings the robust average kept
    spread: float  # mean cosine distance of their embeddings to their voiceprint
    nearest_user_id: uuid.UUID | None
    nearest_name: str | None
    nearest_similarity: float | None  # between the two voiceprints
    # The lowest similarity of one of their embeddings to their own voiceprint, minus the highest
    # similarity of one of them to the nearest other voiceprint: below 0, some of their voices
    # look more like someone else.
    margin: float | None


@dataclass(frozen=True, slots=True)
class VoiceAnalysis:
    model: str
    threshold: float
    users: list[UserVoice]
    silhouette: float | None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "threshold": self.threshold,
            "silhouette": self.silhouette,
            "users": [
                {
                    **{k: getattr(u, k) for k in u.__dataclass_fields__},
                    "user_id": str(u.user_id),
                    "nearest_user_id": str(u.nearest_user_id) if u.nearest_user_id else None,
                }
                for u in self.users
            ],
            "warnings": self.warnings,
        }


def analyse(
    embeddings: Sequence[StoredEmbedding], names: Mapping[uuid.UUID, str], threshold: float
) -> list[VoiceAnalysis]:
    """One analysis per embedding model found."""
    by_model: dict[str, dict[uuid.UUID, list[Vector]]] = defaultdict(lambda: defaultdict(list))
    for stored in embeddings:
        by_model[stored.model][stored.user_id].append(from_bytes(stored.vector))
    return [
        _analyse_model(model, users, names, threshold) for model, users in sorted(by_model.items())
    ]


def _analyse_model(
    model: str,
    users: Mapping[uuid.UUID, list[Vector]],
    names: Mapping[uuid.UUID, str],
    threshold: float,
) -> VoiceAnalysis:
    prints = {user: robust_average(vectors) for user, vectors in users.items()}
    out: list[UserVoice] = []
    warnings: list[str] = []
    for user, vectors in users.items():
        own, kept = prints[user]
        own_similarity = [float(v @ own) for v in vectors]
        others = {o: p for o, (p, _) in prints.items() if o != user}
        nearest = max(others, key=lambda o: float(others[o] @ own), default=None)
        nearest_similarity = float(others[nearest] @ own) if nearest is not None else None
        margin = None
        if nearest is not None:
            margin = min(own_similarity) - max(float(v @ others[nearest]) for v in vectors)
        name = names.get(user, str(user))
        out.append(
            UserVoice(
                user_id=user,
                name=name,
                embeddings=len(vectors),
                kept=kept,
                spread=round(float(np.mean([1 - s for s in own_similarity])), 4),
                nearest_user_id=nearest,
                nearest_name=names.get(nearest, str(nearest)) if nearest else None,
                nearest_similarity=round(nearest_similarity, 4)
                if nearest_similarity is not None
                else None,
                margin=round(margin, 4) if margin is not None else None,
            )
        )
        if nearest is not None and nearest_similarity is not None:
            if nearest_similarity >= threshold and str(user) < str(nearest):
                warnings.append(
                    f"{name} and {names.get(nearest, nearest)} sound too alike to tell apart "
                    f"(voiceprints {nearest_similarity:.2f} similar, threshold {threshold:.2f}): "
                    "suggestions may swap them; claim their speakers by hand"
                )
            if margin is not None and margin < 0:
                warnings.append(
                    f"some of {name}'s voices are closer to {names.get(nearest, nearest)}'s "
                    f"voiceprint than to their own (margin {margin:.2f}): check their claims"
                )
    return VoiceAnalysis(model, threshold, out, _silhouette(users), warnings)


def _silhouette(users: Mapping[uuid.UUID, list[Vector]]) -> float | None:
    """Mean silhouette under cosine distance; ``None`` with fewer than two users."""
    labels = [user for user, vectors in users.items() for _ in vectors]
    if len(set(labels)) < 2:
        return None
    points = np.stack([v for vectors in users.values() for v in vectors])
    distance = 1.0 - points @ points.T
    label_array = np.array([str(label) for label in labels])
    scores = []
    for index, label in enumerate(label_array):
        same = label_array == label
        if same.sum() < 2:
            scores.append(0.0)  # a voice seen once has no cohesion to measure (sklearn's rule)
            continue
        inside = distance[index, same].sum() / (same.sum() - 1)
        outside = min(
            distance[index, label_array == other].mean()
            for other in set(label_array.tolist()) - {label}
        )
        scores.append((outside - inside) / max(inside, outside, 1e-9))
    return round(float(np.mean(scores)), 4)
