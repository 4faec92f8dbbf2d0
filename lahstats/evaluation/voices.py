"""Calibrating voice matching: how similar the same voice is across recordings, and other voices.

Each recording of a dataset is diarized as the service would, its speakers mapped to the
reference speakers by overlap, and each embedded with the pipeline's embedder. Reference speaker
ids are global within a dataset (the synthetic ``d01``..``d06`` recur across conversations and
sessions; AMI ids recur across meetings), so every pair of speakers from two different recordings
is a "same voice" or a "different voice" pair. The threshold is placed in the gap between the
two when there is one (its middle), else where the two error rates cross; the confidence scale
puts the median same-voice pair at a confidence of 0.9. Voices are made as a recorded session's
are (chunk by chunk, from the diarizer's windows), or as whole-session processing makes them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lahstats.evaluation.dataset import Recording, reference_turns
from lahstats.evaluation.metrics import map_speakers
from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.diarize import Diarizer, EmbeddedDiarizer, diarize
from lahstats.pipeline.embed import SpeakerEmbedder, embed_speakers
from lahstats.pipeline.incremental import cut_into_chunks, speakers_chunk_by_chunk
from lahstats.pipeline.types import SpeakerHints

_MEDIAN_SAME_CONFIDENCE = 0.9


@dataclass(frozen=True, slots=True)
class RecordedVoice:
    recording: str
    identity: str  # the reference speaker id
    vector: np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True, slots=True)
class Pair:
    similarity: float
    same: bool
    first: tuple[str, str]  # (recording, identity)
    second: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Calibration:
    threshold: float
    scale: float
    same_pairs: int
    different_pairs: int
    lowest_same: float | None
    highest_different: float | None
    median_same: float | None
    median_different: float | None
    separable: bool
    false_matches: int  # different-voice pairs at or above the threshold
    missed_matches: int  # same-voice pairs below it

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def recording_voices(
    diarizer: Diarizer, embedder: SpeakerEmbedder, recording: Recording, *, whole: bool = False
) -> list[RecordedVoice]:
    """The recording's diarized speakers, embedded, under their reference ids: as a session
    recorded in 30 s chunks gets them (voices from the diarizer's windows), or with ``whole``
    as whole-session processing does (``lahstats analyze``, ``LAHSTATS_INCREMENTAL=false``:
    voices from audio)."""
    audio = decode_file(recording.audio)
    if whole or not isinstance(diarizer, EmbeddedDiarizer):
        turns = diarize(diarizer, audio, SpeakerHints())
        voices = embed_speakers(embedder, audio, turns)
    else:
        turns, voices = speakers_chunk_by_chunk(diarizer, embedder, cut_into_chunks(audio))
    identities = map_speakers(reference_turns(recording), turns)
    return [
        RecordedVoice(recording.id, identities[voice.speaker], voice.vector)
        for voice in voices
        if voice.speaker in identities
    ]


def pairs(voices: Sequence[RecordedVoice]) -> list[Pair]:
    """Every pair of voices from two different recordings."""
    return [
        Pair(
            float(np.dot(a.vector, b.vector)),
            a.identity == b.identity,
            (a.recording, a.identity),
            (b.recording, b.identity),
        )
        for a, b in itertools.combinations(voices, 2)
        if a.recording != b.recording
    ]


def calibrate(scored: Iterable[Pair]) -> Calibration:
    scored = list(scored)
    same = sorted(p.similarity for p in scored if p.same)
    different = sorted(p.similarity for p in scored if not p.same)
    if not same or not different:
        raise ValueError("calibration needs both same-voice and different-voice pairs")
    separable = same[0] > different[-1]
    if separable:
        threshold = (same[0] + different[-1]) / 2
    else:
        candidates = sorted(set(same + different))
        threshold = min(
            candidates,
            key=lambda t: abs(
                sum(s < t for s in same) / len(same)
                - sum(d >= t for d in different) / len(different)
            ),
        )
    median_same = float(np.median(same))
    lift = max(median_same - threshold, 0.01)
    scale = lift / math.log(_MEDIAN_SAME_CONFIDENCE / (1 - _MEDIAN_SAME_CONFIDENCE))
    return Calibration(
        threshold=round(threshold, 4),
        scale=round(scale, 4),
        same_pairs=len(same),
        different_pairs=len(different),
        lowest_same=round(same[0], 4),
        highest_different=round(different[-1], 4),
        median_same=round(median_same, 4),
        median_different=round(float(np.median(different)), 4),
        separable=separable,
        false_matches=sum(d >= threshold for d in different),
        missed_matches=sum(s < threshold for s in same),
    )


def check(scored: Iterable[Pair], threshold: float) -> dict[str, int]:
    """How a given threshold does on pairs it was not calibrated on."""
    scored = list(scored)
    return {
        "same_pairs": sum(p.same for p in scored),
        "different_pairs": sum(not p.same for p in scored),
        "false_matches": sum((not p.same) and p.similarity >= threshold for p in scored),
        "missed_matches": sum(p.same and p.similarity < threshold for p in scored),
    }
