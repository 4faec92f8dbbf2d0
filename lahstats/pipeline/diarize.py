"""Who spoke when: speech regions, voice embeddings of sliding windows, clustering, turns.

``load_diarizer(settings)`` picks the backend once; ``diarize(diarizer, audio, hints)`` is a plain
function returning turns sorted by start, labelled SPEAKER_00, SPEAKER_01... in order of first
appearance. The embedded backend takes speech where silero VAD or pyannote's segmentation model
hears it, clusters 1.6 s windows of speech embedded with WeSpeaker (which tells voices apart), and
gives every 10 ms of speech to the speaker whose denser GE2E windows (cheap, every 0.5 s) it
resembles most, and to the runner-up as well where the segmentation model hears two voices; a
short stretch between pauses then goes whole to the voice its own WeSpeaker vector resembles. It
must never touch the network, and silence or noise must give no turns at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from lahstats.pipeline.clustering import centroids, cluster
from lahstats.pipeline.embed import (
    FRAME_SECONDS,
    WINDOW_FRAMES,
    GE2EEncoder,
    Vectors,
    load_ge2e,
    mel_frames,
)
from lahstats.pipeline.segmentation import Segmenter, load_segmenter
from lahstats.pipeline.types import (
    Audio,
    ProgressHook,
    SpeakerHints,
    Turn,
    no_progress,
)
from lahstats.pipeline.vad import SpeechDetector, load_speech_detector, speech_regions
from lahstats.pipeline.wespeaker import WeSpeakerEncoder, fbank_frames, load_wespeaker

if TYPE_CHECKING:
    from lahstats.settings import Settings

STAGE = "diarize"

# All thresholds were tuned on the dev set (/tmp eval over dev_conv01-04, dev_session1-2 and the
# real clips with human RTTM; DER with a 0.25 s collar, pooled over the synthetic recordings).
#
# A window is embedded every 0.5 s of speech: 0.25 s gave the same DER (5.04 vs 5.00 %) at twice
# the encoder cost, which is most of the stage's time.
HOP_FRAMES = 50
# Clustering uses WeSpeaker windows every 1.6 s of speech (no overlap): every 0.5 s clustered
# as well (synthetic 3.8 / real 9.1 % DER against 3.7 / 10.4) at 3x the cost of the whole stage.
# Clustering GE2E windows instead: 4.2 / 16.3 %, the AMI voices all but merge in GE2E.
CLUSTER_HOP_FRAMES = 160
# Reference turns run through a speaker's own pauses: bridging pauses up to 0.8 s nobody else
# speaks in took synthetic DER from 7.4 % (0.5 s) to 5.0 %; 1.2 s let turns swallow silence (5.3).
# Re-measured with segmentation speech and overlap: 0.5 s 4.1 / 9.4, 0.8 s 3.2 / 6.9, 1.2 s 3.9 /
# 6.9 (synthetic / real).
MAX_PAUSE_FRAMES = 80
# No speaker change shorter than 0.5 s inside a stretch of speech: 10 % DER without this rule,
# 6.5 % at 0.3 s, 5.0 % at 0.5 s, 6.7 % at 0.8 s; re-measured as above: 0.3 s 4.4 / 6.9,
# 0.5 s 3.2 / 6.9, 0.8 s 4.1 / 7.1.
MIN_RUN_FRAMES = 50
# Speech and overlap, on dev (DER %, synthetic / real, pooled; 9/10 speaker counts right in all):
#   silero speech, 0.25 s overlap at every takeover                    3.7 / 10.4
#   silero speech, runner-up where segmentation hears 2+ voices        2.1 /  9.2
#   silero or segmentation speech, runner-up in overlap (this)         3.2 /  6.9
#   segmentation speech alone, runner-up in overlap                    5.5 / 10.4
#   silero or segmentation speech, overlap at takeovers                5.2 /  7.7
# Silero misses 30 % of the far-field AMI clip's speech, the segmentation model 3 %; it marks
# more of the synthetic pauses as speech, hence the 1.1 points lost there.

# A stretch of speech between pauses (silero's regions) this short (seconds) is one utterance of
# one voice, and is given whole to the speaker its own WeSpeaker vector resembles when that beats
# the speaker its frames were given by RELABEL_MARGIN (cosine). Target words live in short replies
# ("Walao.", "Okay lor.", "Can, can.") that the 1.6 s windows handed to the voice around them:
# with the recognised words of our generated sets given to speakers anew (word F1, summed;
# island longest s / margin): none 0.792 (seed 2, person-distinct voices, where it was chosen),
# 1.0 / 0.0-0.1 0.833, 1.5 / 0.0-0.1 0.836, 1.5 / 0.2 0.833, 2.5 / 0.1 0.836; confirmed at
# 1.5 / 0.1 on seed 1 (0.806 -> 0.835), the older seed 2 (0.787 -> 0.821) and dev (0.779 ->
# 0.786). Shorter than 0.3 s is too little voice to tell.
SHORT_UTTERANCE = 1.5
SHORTEST_UTTERANCE = 0.3
RELABEL_MARGIN = 0.1


class Diarizer(Protocol):
    @property
    def name(self) -> str: ...

    def diarize(
        self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook
    ) -> tuple[Turn, ...]: ...


@dataclass(frozen=True, slots=True)
class EmbeddedDiarizer:
    """silero VAD and segmentation + WeSpeaker clustering + GE2E frame labels; ``encoder``
    (GE2E) is shared with the embedder."""

    detector: SpeechDetector
    encoder: GE2EEncoder
    voices: WeSpeakerEncoder
    segmenter: Segmenter
    name: str = "embedded"

    def diarize(
        self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook
    ) -> tuple[Turn, ...]:
        samples = audio.samples
        if len(samples) == 0:
            return ()
        on_progress(STAGE, 0, 3)
        regions = speech_regions(self.detector.probabilities(samples), audio.duration)
        if not regions:  # silero keeps noise and music out; the segmentation model only adds
            return ()
        on_progress(STAGE, 1, 3)
        mel = mel_frames(samples)
        speech, overlap = self.segmenter.activity(samples, len(mel))
        for lo, hi in regions:
            speech[round(lo / FRAME_SECONDS) : round(hi / FRAME_SECONDS)] = True
        # Windows slide over the speech with the pauses cut out, so none is half silence: on dev
        # that beat windows within each region (real clips 15.7 against 35 % DER).
        where = np.flatnonzero(speech)
        starts = _window_starts(len(where))
        embeddings = self.encoder.embed_windows(mel[where], starts)
        covers = [where[start : start + WINDOW_FRAMES] for start in starts]
        on_progress(STAGE, 2, 3)
        sparse = _window_starts(len(where), CLUSTER_HOP_FRAMES)
        fbank = fbank_frames(samples, len(mel))
        voices = self.voices.embed_windows(fbank[where], sparse, WINDOW_FRAMES)
        # each GE2E window takes the speaker of the clustered window nearest its centre; letting
        # k-means on GE2E move them afterwards cost 0.6 points of synthetic DER for 0.8 of real
        nearest = np.abs(np.add.outer(np.asarray(starts), -np.asarray(sparse))).argmin(axis=1)
        clustered = cluster(voices, hints)
        speakers, labels = np.unique(clustered[nearest], return_inverse=True)
        frames = frame_labels(embeddings, labels, covers, speech, overlap)
        if len(speakers) > 1:
            kept = np.isin(clustered, speakers)
            voiceprints = centroids(voices[kept], np.searchsorted(speakers, clustered[kept]))
            frames = self._short_utterances(frames, regions, fbank, voiceprints)
        on_progress(STAGE, 3, 3)
        return _turns(frames)

    def _short_utterances(
        self,
        active: npt.NDArray[np.bool_],
        regions: Sequence[tuple[float, float]],
        fbank: Vectors,
        voiceprints: Vectors,
    ) -> npt.NDArray[np.bool_]:
        """Each short stretch of speech between pauses ("Walao.", "Can, can.") given whole to
        the speaker its own WeSpeaker vector resembles, where that beats the speaker its frames
        were given by more than ``RELABEL_MARGIN``: the 1.6 s windows that label frames
        straddle a short reply and hand it to the voice around it."""
        relabelled = active.copy()
        for start, end in regions:
            if not SHORTEST_UTTERANCE <= end - start <= SHORT_UTTERANCE:
                continue
            lo, hi = round(start / FRAME_SECONDS), round(end / FRAME_SECONDS)
            (vector,) = self.voices.embed_windows(fbank[lo:hi], [0], hi - lo)
            resemblance = voiceprints @ vector
            given = int(np.argmax(active[lo:hi].sum(axis=0)))
            best = int(np.argmax(resemblance))
            if best != given and resemblance[best] - resemblance[given] > RELABEL_MARGIN:
                relabelled[lo:hi] = False
                relabelled[lo:hi, best] = True
        return relabelled


def _window_starts(frames: int, hop: int = HOP_FRAMES) -> list[int]:
    """Window starts every ``hop`` frames, the last flush with the end; one window if all fits."""
    if frames <= WINDOW_FRAMES:
        return [0]
    starts = list(range(0, frames - WINDOW_FRAMES + 1, hop))
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


def frame_labels(
    embeddings: Vectors,
    labels: npt.NDArray[np.int64],
    covers: Sequence[npt.NDArray[np.int64]],
    speech: npt.NDArray[np.bool_],
    overlap: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Which speakers talk in each 10 ms frame (frames x speakers): the centroid that the windows
    covering the frame, weighted towards their centres, resemble most, and in ``overlap`` frames
    of speech the runner-up too."""
    voices = centroids(embeddings, labels)
    similarity = embeddings @ voices.T
    total = len(speech)
    scores = np.zeros((total, len(voices)), np.float32)
    weights = np.zeros(total, np.float32)
    taper = np.hanning(WINDOW_FRAMES + 2)[1:-1].astype(np.float32)
    for frames, row in zip(covers, similarity, strict=True):
        scores[frames] += taper[: len(frames), None] * row
        weights[frames] += taper[: len(frames)]
    scores /= np.maximum(weights[:, None], 1e-6)
    best = _smooth(scores, speech)
    active = np.zeros((total, len(voices)), bool)
    active[np.flatnonzero(speech), best[speech]] = True
    if len(voices) > 1:
        others = scores.copy()
        others[np.arange(total), best] = -np.inf
        both = np.flatnonzero(speech & overlap)
        active[both, np.argmax(others[both], axis=1)] = True
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
        case "embedded":
            return EmbeddedDiarizer(
                load_speech_detector(), load_ge2e(), load_wespeaker(), load_segmenter()
            )
        case "pyannote":
            from lahstats.pipeline.pyannote import load_pyannote

            return load_pyannote(settings)


def diarize(
    diarizer: Diarizer,
    audio: Audio,
    hints: SpeakerHints = SpeakerHints(),  # noqa: B008 -- frozen, so one shared default is safe
    *,
    on_progress: ProgressHook = no_progress,
) -> tuple[Turn, ...]:
    """Turns sorted by start; no turns for empty, silent or noise-only audio."""
    return diarizer.diarize(audio, hints, on_progress)
