"""The values that flow between the pipeline's stages: audio, turns, words, counts, samples.

Every stage takes and returns these frozen dataclasses (and numpy arrays), so a stage can be
tested with a few seconds of audio and no database. Nothing here imports a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000

Samples = npt.NDArray[np.float32]
ProgressHook = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress hook: stages call it unconditionally, it does nothing."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One uploaded piece of a recording, as bytes; ``number`` orders the pieces."""

    number: int
    data: bytes
    name: str = ""  # the client's file name, for messages only: the format is sniffed

    @property
    def label(self) -> str:
        return f"chunk {self.number}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True, slots=True)
class Gap:
    """A chunk number missing from an otherwise ordered upload, and where it would have been."""

    number: int
    at: float  # seconds into the joined audio


@dataclass(frozen=True, slots=True, eq=False)
class Audio:
    """Mono float32 samples at 16 kHz; what every stage after decode works on."""

    samples: Samples
    sample_rate: int = SAMPLE_RATE
    gaps: tuple[Gap, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def slice(self, start: float, end: float) -> Samples:
        lo = max(0, round(start * self.sample_rate))
        hi = min(len(self.samples), round(end * self.sample_rate))
        return self.samples[lo : max(lo, hi)]


class AudioSource(Protocol):
    """Audio that slices can be taken from: ``Audio``, or a session's chunks decoded only where
    a slice falls (``decode.ChunkedAudio``), for the stages that need a few seconds of it."""

    @property
    def duration(self) -> float: ...

    def slice(self, start: float, end: float) -> Samples: ...


@dataclass(frozen=True, slots=True)
class SpeakerHints:
    """What the user knows about how many people spoke; all optional."""

    exact: int | None = None
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        for name in ("exact", "minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"speaker count {name} must be at least 1, got {value}")
        if self.minimum and self.maximum and self.minimum > self.maximum:
            raise ValueError(f"minimum speakers ({self.minimum}) is above maximum ({self.maximum})")


@dataclass(frozen=True, slots=True)
class Turn:
    """A stretch of time in which one speaker talks. Turns of different speakers may overlap."""

    speaker: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Word:
    """A recognised (and later corrected) word with its time and speaker.

    ``heard`` keeps what the recogniser wrote when correction changed it ("while up" -> walao),
    so transcripts can show both and corrections can be audited.
    """

    text: str
    start: float
    end: float
    speaker: str
    probability: float = 1.0
    heard: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A line of the transcript: one speaker's consecutive words within one turn."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class SpeakerCounts:
    """How often one speaker said each tracked word (only words said at least once)."""

    speaker: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Sample:
    """A short, loudness-normalised clip of one speaker, encoded for a browser to play."""

    speaker: str
    data: bytes
    content_type: str
    start: float
    end: float


@dataclass(frozen=True, slots=True, eq=False)
class VoiceEmbedding:
    """One vector per speaker, L2-normalised, from the named model."""

    speaker: str
    vector: npt.NDArray[np.float32]
    model: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the pipeline learned from one recording."""

    duration: float
    turns: tuple[Turn, ...]
    words: tuple[Word, ...]
    segments: tuple[Segment, ...]
    counts: tuple[SpeakerCounts, ...]
    samples: tuple[Sample, ...] = ()
    embeddings: tuple[VoiceEmbedding, ...] = ()
    gaps: tuple[Gap, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds per stage
    # What the recogniser wrote, before correction: stored, so a session can be counted again
    # with another lexicon without running a model (``pipeline.recount``).
    heard: tuple[Word, ...] = ()

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker labels in order of first appearance."""
        return tuple(
            dict.fromkeys(turn.speaker for turn in sorted(self.turns, key=lambda t: t.start))
        )

    def speaking_time(self, speaker: str) -> float:
        return sum(turn.duration for turn in self.turns if turn.speaker == speaker)
