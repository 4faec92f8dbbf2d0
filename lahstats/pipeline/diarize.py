"""Who spoke when: speech regions, voice embeddings of sliding windows, clustering, turns.

``load_diarizer(settings)`` picks the backend once; ``diarize(diarizer, audio, hints)`` is a plain
function returning turns sorted by start, labelled SPEAKER_00, SPEAKER_01... in order of first
appearance. The embedded backend runs silero VAD, embeds 1.6 s windows of speech with
resemblyzer's GE2E encoder, clusters them and assigns every 10 ms of speech to the nearest
speaker. It must never touch the network, and silence or noise must give no turns at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.embed import (
    FRAME_SECONDS,
    WINDOW_FRAMES,
    GE2EEncoder,
    Vectors,
    load_ge2e,
    mel_frames,
)
from lahstats.pipeline.types import (
    Audio,
    ProgressHook,
    SpeakerHints,
    Turn,
    no_progress,
)
from lahstats.pipeline.vad import SpeechDetector, load_speech_detector, speech_regions

if TYPE_CHECKING:
    from lahstats.settings import Settings

STAGE = "diarize"

# All thresholds were tuned on the dev set (/tmp eval over dev_conv01-04, dev_session1-2 and the
# real clips with human RTTM; DER with a 0.25 s collar, pooled over the synthetic recordings).
#
# A window is embedded every 0.5 s of speech: 0.25 s gave the same DER (5.04 vs 5.00 %) at twice
# the encoder cost, which is most of the stage's time.
HOP_FRAMES = 50
# A voice needs about 4 s of speech to count as a speaker: with 2-3 s, mixed windows and laughter
# in the real clips became extra speakers (count right on 8/10 recordings, 10/10 at 4 s).
MIN_CLUSTER_WINDOWS = 8
# Silhouette of the best split below which a recording has one speaker: the one-speaker monologue
# scored 0.12, the two-speaker real clips 0.21-0.26 and the synthetic ones 0.32 and up.
MIN_SILHOUETTE = 0.18
MAX_SPEAKERS = 8
# Average linkage is quadratic in windows: 1000 (8 min of speech) bounds it near 4 MB.
MAX_CLUSTERED = 1000
REFINE_ROUNDS = 5
# Reference turns run through a speaker's own pauses: bridging pauses up to 0.8 s nobody else
# speaks in took synthetic DER from 7.4 % (0.5 s) to 5.0 %; 1.2 s let turns swallow silence (5.3).
MAX_PAUSE_FRAMES = 80
# No speaker change shorter than 0.5 s inside a stretch of speech: 10 % DER without this rule,
# 6.5 % at 0.3 s, 5.0 % at 0.5 s, 6.7 % at 0.8 s.
MIN_RUN_FRAMES = 50
# Overlap at takeovers (see frame_labels): synthetic DER 5.0 % without it, 4.2 % at 0.25 s either
# side, 4.7 % at 0.4 s; the real clips lose 0.6 points to it. Giving the runner-up speaker every
# frame whose two best scores were within 0.01-0.04 was tried: more false alarm than overlap found.
CROSSFADE_FRAMES = 25


class Diarizer(Protocol):
    @property
    def name(self) -> str: ...

    def diarize(
        self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook
    ) -> tuple[Turn, ...]: ...


@dataclass(frozen=True, slots=True)
class SileroResemblyzer:
    """silero VAD + resemblyzer windows + clustering; ``encoder`` is shared with the embedder."""

    detector: SpeechDetector
    encoder: GE2EEncoder
    name: str = "silero-resemblyzer"

    def diarize(
        self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook
    ) -> tuple[Turn, ...]:
        samples = audio.samples
        if len(samples) == 0:
            return ()
        on_progress(STAGE, 0, 3)
        regions = speech_regions(self.detector.probabilities(samples), audio.duration)
        if not regions:
            return ()
        on_progress(STAGE, 1, 3)
        mel = mel_frames(samples)
        speech = np.zeros(len(mel), bool)
        for lo, hi in regions:
            speech[round(lo / FRAME_SECONDS) : round(hi / FRAME_SECONDS)] = True
        # Windows slide over the speech with the pauses cut out, so none is half silence: on dev
        # that beat windows within each region (real clips 15.7 against 35 % DER).
        where = np.flatnonzero(speech)
        starts = _window_starts(len(where))
        embeddings = self.encoder.embed_windows(mel[where], starts)
        covers = [where[start : start + WINDOW_FRAMES] for start in starts]
        on_progress(STAGE, 2, 3)
        labels = cluster(embeddings, hints)
        frames = frame_labels(embeddings, labels, covers, speech)
        on_progress(STAGE, 3, 3)
        return _turns(frames)


def _window_starts(frames: int) -> list[int]:
    """Window starts every HOP_FRAMES, the last flush with the end; one window if that is all."""
    if frames <= WINDOW_FRAMES:
        return [0]
    starts = list(range(0, frames - WINDOW_FRAMES + 1, HOP_FRAMES))
    if starts[-1] != frames - WINDOW_FRAMES:
        starts.append(frames - WINDOW_FRAMES)
    return starts


def _turns(active: npt.NDArray[np.bool_]) -> tuple[Turn, ...]:
    """Turns from per-frame activity (frames x speakers), numbered by first appearance."""
    active = _bridge_pauses(active)
    found: list[tuple[int, float, float]] = []
    for speaker in range(active.shape[1]):
        found += [
            (speaker, lo * FRAME_SECONDS, hi * FRAME_SECONDS)
            for lo, hi in _runs(active[:, speaker])
        ]
    found.sort(key=lambda t: (t[1], t[2]))
    names: dict[int, str] = {}
    for speaker, _, _ in found:
        names.setdefault(speaker, f"SPEAKER_{len(names):02d}")
    return tuple(Turn(names[speaker], round(lo, 3), round(hi, 3)) for speaker, lo, hi in found)


def _runs(active: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _bridge_pauses(active: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Fill a speaker's short pauses that nobody else speaks in: reference turns span them."""
    bridged = active.copy()
    anyone: npt.NDArray[np.bool_] = np.asarray(active.any(axis=1))
    for speaker in range(active.shape[1]):
        runs = _runs(active[:, speaker])
        for (_, end), (start, _) in itertools.pairwise(runs):
            if start - end <= MAX_PAUSE_FRAMES and not anyone[end:start].any():
                bridged[end:start, speaker] = True
    return bridged


def cluster(embeddings: Vectors, hints: SpeakerHints) -> npt.NDArray[np.int64]:
    """A speaker index per window.

    Average-linkage clustering on cosine distance proposes k = 2..MAX_SPEAKERS speakers; the k
    whose clusters have the best silhouette wins, or one speaker when even that is below
    MIN_SILHOUETTE. Only clusters of at least MIN_CLUSTER_WINDOWS count as speakers: the rest
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
        cut = _cut(tree, speakers, len(sample))
        if cut is None:
            break
        labels = np.argmax(sample @ _centroids(sample, cut).T, axis=1)
        score = _silhouette(distances, labels)
        if best is None or score > best[0]:
            best = (score, labels)
    if best is None and low >= 2:  # the hints ask for more voices than have 4 s each
        best = (0.0, fcluster(tree, t=low, criterion="maxclust").astype(np.int64) - 1)
    if best is None or (low <= 1 and best[0] < MIN_SILHOUETTE):
        return np.zeros(count, np.int64)
    centroids = _centroids(sample, best[1])
    return _refine(embeddings, np.argmax(embeddings @ centroids.T, axis=1))


def _bounds(hints: SpeakerHints, count: int) -> tuple[int, int]:
    if hints.exact:
        return min(hints.exact, count), min(hints.exact, count)
    low = min(hints.minimum or 1, count)
    return low, max(low, min(hints.maximum or MAX_SPEAKERS, count))


def _cut(tree: Vectors, speakers: int, count: int) -> npt.NDArray[np.int64] | None:
    """Windows labelled with ``speakers`` big clusters (small ones join the nearest), or None."""
    from scipy.cluster.hierarchy import fcluster

    for clusters in range(speakers, count + 1):
        labels = fcluster(tree, t=clusters, criterion="maxclust") - 1
        big = _speakers(labels)
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


def _speakers(labels: npt.NDArray[np.int64]) -> list[int]:
    """Clusters big enough to be a voice, largest first."""
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    return [int(k) for k in order if sizes[k] >= MIN_CLUSTER_WINDOWS]


def _refine(embeddings: Vectors, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Reassign each window to the nearest centroid a few times (k-means on the sphere)."""
    _, labels = np.unique(labels, return_inverse=True)
    for _ in range(REFINE_ROUNDS):
        centroids = _centroids(embeddings, labels)
        moved = np.argmax(embeddings @ centroids.T, axis=1)
        moved = np.unique(moved, return_inverse=True)[1]
        if np.array_equal(moved, labels):
            break
        labels = moved
    refined: npt.NDArray[np.int64] = labels.astype(np.int64)
    return refined


def _centroids(embeddings: Vectors, labels: npt.NDArray[np.int64]) -> Vectors:
    sums = np.stack([embeddings[labels == k].sum(axis=0) for k in range(int(labels.max()) + 1)])
    sums[~sums.any(axis=1)] = 1.0  # a label with no windows: any unit vector keeps shapes
    centroids: Vectors = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    return centroids


def frame_labels(
    embeddings: Vectors,
    labels: npt.NDArray[np.int64],
    covers: Sequence[npt.NDArray[np.int64]],
    speech: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Which speaker talks in each 10 ms frame (frames x speakers): the centroid that the windows
    covering the frame, weighted towards their centres, resemble most."""
    centroids = _centroids(embeddings, labels)
    similarity = embeddings @ centroids.T
    total = len(speech)
    scores = np.zeros((total, len(centroids)), np.float32)
    weights = np.zeros(total, np.float32)
    taper = np.hanning(WINDOW_FRAMES + 2)[1:-1].astype(np.float32)
    for frames, row in zip(covers, similarity, strict=True):
        scores[frames] += taper[: len(frames), None] * row
        weights[frames] += taper[: len(frames)]
    scores /= np.maximum(weights[:, None], 1e-6)
    best = _smooth(scores, speech)
    active = np.zeros((total, len(centroids)), bool)
    active[np.flatnonzero(speech), best[speech]] = True
    # Where one voice takes over from another with no pause, the two usually overlap for a moment
    # (people start before the other has finished): both speak for CROSSFADE_FRAMES either side.
    changes = np.flatnonzero(speech[1:] & speech[:-1] & (best[1:] != best[:-1])) + 1
    for change in changes:
        before, after = best[change - 1], best[change]
        lo, hi = max(0, change - CROSSFADE_FRAMES), min(total, change + CROSSFADE_FRAMES)
        active[change:hi, before] |= speech[change:hi]
        active[lo:change, after] |= speech[lo:change]
    return active


def _smooth(scores: Vectors, speech: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The best speaker per frame, without changes of speaker shorter than MIN_RUN_FRAMES
    inside a stretch of speech: a short run goes to whichever neighbour scores higher on it."""
    best: npt.NDArray[np.int64] = np.argmax(scores, axis=1).astype(np.int64)
    for lo, hi in _runs(speech):
        while True:
            cuts = [lo, *(lo + 1 + np.flatnonzero(np.diff(best[lo:hi]))).tolist(), hi]
            runs = list(itertools.pairwise(cuts))
            if len(runs) < 2:
                break
            shortest = min(range(len(runs)), key=lambda i: runs[i][1] - runs[i][0])
            start, end = runs[shortest]
            if end - start >= MIN_RUN_FRAMES:
                break
            neighbours = [
                best[runs[i][0]] for i in (shortest - 1, shortest + 1) if 0 <= i < len(runs)
            ]
            best[start:end] = max(neighbours, key=lambda k: float(scores[start:end, k].sum()))
    return best


def load_diarizer(settings: Settings) -> Diarizer:
    match settings.diarizer:
        case "silero-resemblyzer":
            return SileroResemblyzer(load_speech_detector(), load_ge2e())
        case "pyannote":
            raise ModelUnavailable(
                "the pyannote diarizer is not available in this version",
                hint="Set LAHSTATS_DIARIZER=silero-resemblyzer (the embedded default).",
            )
        case "moonshine":
            raise ModelUnavailable(
                "moonshine has no diarizer in this version",
                hint="Set LAHSTATS_DIARIZER=silero-resemblyzer (the embedded default).",
            )


def diarize(
    diarizer: Diarizer,
    audio: Audio,
    hints: SpeakerHints = SpeakerHints(),  # noqa: B008 -- frozen, so one shared default is safe
    *,
    on_progress: ProgressHook = no_progress,
) -> tuple[Turn, ...]:
    """Turns sorted by start; no turns for empty, silent or noise-only audio."""
    return diarizer.diarize(audio, hints, on_progress)
