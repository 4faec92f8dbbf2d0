"""Which windows are one voice: average-linkage clustering of unit vectors, counted by silhouette.

The diarizer hands it the WeSpeaker vectors of its speech windows; it returns a speaker index per
window. Pure numpy/scipy on vectors: it never sees audio or time, and never touches the network.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lahstats.pipeline.types import SpeakerHints

Vectors = npt.NDArray[np.float32]

# Tuned on the dev set with the diarizer's windows (WeSpeaker, 1.6 s every 1.6 s of speech).
# A voice needs about 4-5 s of speech to count as a speaker: with 3 s, mixed windows and laughter
# in the real clips became extra speakers (real 11.9 % DER and 8/10 counts right, 10.4 and 9/10
# at 4.8 s; the 10th is an AMI voice with 1.2 s of speech in all).
MIN_CLUSTER_WINDOWS = 3
# Silhouette of the best split below which a recording has one speaker (0.18-0.25 all gave the
# same dev results with WeSpeaker; 0.1 split the monologue and the AMI clips).
MIN_SILHOUETTE = 0.18
MAX_SPEAKERS = 8
# Average linkage is quadratic in windows: 1000 (8 min of speech) bounds it near 4 MB.
MAX_CLUSTERED = 1000
REFINE_ROUNDS = 5


def cluster(
    embeddings: Vectors, hints: SpeakerHints, *, min_windows: int = MIN_CLUSTER_WINDOWS
) -> npt.NDArray[np.int64]:
    """A speaker index per window.

    Average-linkage clustering on cosine distance proposes k = 2..MAX_SPEAKERS speakers; the k
    whose clusters have the best silhouette wins, or one speaker when even that is below
    MIN_SILHOUETTE. Only clusters of at least ``min_windows`` count as speakers: the rest
    are windows of mixed voices, laughter or a blip, and join the nearest speaker afterwards.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    count = len(embeddings)
    if count < 2:
        return np.zeros(count, np.int64)
    # clustering is quadratic in windows: a long recording clusters an even subsample
    sample = embeddings[:: -(-count // MAX_CLUSTERED)]
    tree = linkage(sample, method="average", metric="cosine")
    distances = np.clip(1.0 - sample @ sample.T, 0.0, 2.0)
    low, high = _bounds(hints, len(sample))
    best: tuple[float, npt.NDArray[np.int64]] | None = None
    for speakers in range(max(2, low), high + 1):
        cut = _cut(tree, speakers, len(sample), min_windows)
        if cut is None:
            break
        labels = np.argmax(sample @ centroids(sample, cut).T, axis=1)
        score = _silhouette(distances, labels)
        if best is None or score > best[0]:
            best = (score, labels)
    if best is None and low >= 2:  # the hints ask for more voices than have 4 s each
        best = (0.0, fcluster(tree, t=low, criterion="maxclust").astype(np.int64) - 1)
    if best is None or (low <= 1 and best[0] < MIN_SILHOUETTE):
        return np.zeros(count, np.int64)
    means = centroids(sample, best[1])
    return _refine(embeddings, np.argmax(embeddings @ means.T, axis=1))


def _bounds(hints: SpeakerHints, count: int) -> tuple[int, int]:
    if hints.exact:
        return min(hints.exact, count), min(hints.exact, count)
    low = min(hints.minimum or 1, count)
    return low, max(low, min(hints.maximum or MAX_SPEAKERS, count))


def _cut(
    tree: Vectors, speakers: int, count: int, min_windows: int
) -> npt.NDArray[np.int64] | None:
    """Windows labelled with ``speakers`` big clusters (small ones join the nearest), or None."""
    from scipy.cluster.hierarchy import fcluster

    for clusters in range(speakers, count + 1):
        labels = fcluster(tree, t=clusters, criterion="maxclust") - 1
        big = _speakers(labels, min_windows)
        if len(big) >= speakers:
            break
    else:
        return None
    relabel = np.full(labels.max() + 1, -1)
    relabel[big[:speakers]] = np.arange(speakers)
    cut: npt.NDArray[np.int64] = relabel[labels].astype(np.int64)
    return cut


def _silhouette(distances: Vectors, labels: npt.NDArray[np.int64]) -> float:
    """Mean silhouette of the windows (scikit-learn's definition, on cosine distances)."""
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    if (sizes > 0).sum() < 2:
        return -1.0
    rows = np.arange(len(labels))
    totals = np.stack([distances[:, labels == c].sum(axis=1) for c in range(k)], axis=1)
    inner = totals[rows, labels] / np.maximum(sizes[labels] - 1, 1)
    means = np.where(sizes > 0, totals / np.maximum(sizes, 1), np.inf)
    means[rows, labels] = np.inf
    outer = means.min(axis=1)
    values = (outer - inner) / np.maximum(np.maximum(inner, outer), 1e-9)
    return float(np.where(sizes[labels] > 1, values, 0.0).mean())


def _speakers(labels: npt.NDArray[np.int64], min_windows: int) -> list[int]:
    """Clusters big enough to be a voice, largest first."""
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    return [int(k) for k in order if sizes[k] >= min_windows]


def _refine(embeddings: Vectors, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Reassign each window to the nearest centroid a few times (k-means on the sphere)."""
    _, labels = np.unique(labels, return_inverse=True)
    for _ in range(REFINE_ROUNDS):
        means = centroids(embeddings, labels)
        moved = np.argmax(embeddings @ means.T, axis=1)
        moved = np.unique(moved, return_inverse=True)[1]
        if np.array_equal(moved, labels):
            break
        labels = moved
    refined: npt.NDArray[np.int64] = labels.astype(np.int64)
    return refined


def centroids(embeddings: Vectors, labels: npt.NDArray[np.int64]) -> Vectors:
    """Unit mean vector of each label."""
    sums = np.stack([embeddings[labels == k].sum(axis=0) for k in range(int(labels.max()) + 1)])
    sums[~sums.any(axis=1)] = 1.0  # a label with no windows: any unit vector keeps shapes
    means: Vectors = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    return means
