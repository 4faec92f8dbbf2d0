"""Voices compared: robust voiceprints, and which member each new speaker most likely is.

Pure functions on unit vectors (cosine similarity = dot product); no database, no model.

A voiceprint is the mean of a user's embeddings after dropping outliers: a wrongly claimed
speaker, or a speaker whose turns the diarizer mixed with someone else's, should not drag it
towards another voice. With three or more embeddings, any whose similarity to the others' mean
falls more than ``_OUTLIER_MADS`` scaled median absolute deviations below the median is left out
(at most a third of them, so a voice that truly changes keeps its print).

Suggestions pair speakers with members one to one, strongest pair first: each member is suggested
for at most one speaker per session and each speaker gets at most one member, and only pairs at
or above the threshold count. The confidence is a logistic of the similarity centred on the
threshold: 0.5 at the threshold, rising towards 1 as the voices get closer.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]

_OUTLIER_MADS = 3.0
_MAD_TO_SIGMA = 1.4826


def unit(vector: npt.ArrayLike) -> Vector:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def from_bytes(data: bytes) -> Vector:
    return unit(np.frombuffer(data, dtype=np.float32))


def to_bytes(vector: Vector) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def robust_average(vectors: Sequence[Vector]) -> tuple[Vector, int]:
    """The unit mean of ``vectors`` without outliers, and how many vectors it kept."""
    if not vectors:
        raise ValueError("a voiceprint needs at least one embedding")
    stacked = np.stack([unit(v) for v in vectors])
    if len(stacked) < 3:
        return unit(stacked.mean(axis=0)), len(stacked)
    total = stacked.sum(axis=0)
    # Each one against the mean of the others, so a vector does not vote for itself.
    similarity = np.array([float(unit(total - row) @ row) for row in stacked], dtype=np.float64)
    median = float(np.median(similarity))
    spread = _MAD_TO_SIGMA * float(np.median(np.abs(similarity - median)))
    floor = median - _OUTLIER_MADS * max(spread, 0.02)
    keep = similarity >= floor
    most_dropped = len(stacked) // 3
    if int((~keep).sum()) > most_dropped:
        order = np.argsort(similarity)
        keep = np.ones(len(stacked), dtype=bool)
        keep[order[:most_dropped]] = similarity[order[:most_dropped]] >= floor
    return unit(stacked[keep].mean(axis=0)), int(keep.sum())


def confidence(similarity: float, *, threshold: float, scale: float) -> float:
    """0.5 at the threshold; ``scale`` is how much similarity moves it from 0.5 to ~0.73."""
    return 1.0 / (1.0 + math.exp(-(similarity - threshold) / scale))


@dataclass(frozen=True, slots=True)
class Suggestion:
    user_id: uuid.UUID
    similarity: float
    confidence: float


def suggest(
    speakers: Mapping[uuid.UUID, Vector],
    voiceprints: Mapping[uuid.UUID, Vector],
    *,
    threshold: float,
    scale: float,
) -> dict[uuid.UUID, Suggestion]:
    """``{speaker id: Suggestion}``: one to one, strongest pairs first, none below threshold."""
    pairs = sorted(
        (
            (float(unit(voice) @ unit(print_)), speaker_id, user_id)
            for speaker_id, voice in speakers.items()
            for user_id, print_ in voiceprints.items()
        ),
        key=lambda pair: -pair[0],
    )
    taken_speakers: set[uuid.UUID] = set()
    taken_users: set[uuid.UUID] = set()
    found: dict[uuid.UUID, Suggestion] = {}
    for similarity, speaker_id, user_id in pairs:
        if similarity < threshold:
            break
        if speaker_id in taken_speakers or user_id in taken_users:
            continue
        taken_speakers.add(speaker_id)
        taken_users.add(user_id)
        found[speaker_id] = Suggestion(
            user_id,
            round(similarity, 4),
            round(confidence(similarity, threshold=threshold, scale=scale), 4),
        )
    return found


def similarities(vectors: Iterable[Vector], other: Vector) -> list[float]:
    return [float(unit(vector) @ unit(other)) for vector in vectors]
