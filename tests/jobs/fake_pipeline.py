"""A stand-in for the pipeline at the job's seam (``process.analyze_chunks``).

It decodes the chunks for real, so bad audio fails as in production, then reports every stage
and returns a fixed two-speaker analysis: the models' minutes are all it saves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lahstats.pipeline.count import segments
from lahstats.pipeline.decode import decode_chunks
from lahstats.pipeline.run import SAVING_PERCENT, banded
from lahstats.pipeline.types import (
    Analysis,
    Chunk,
    ProgressHook,
    Sample,
    SpeakerCounts,
    Turn,
    VoiceEmbedding,
    Word,
)

FAKE_MODELS = object()
PAUSE_SECONDS = 0.03


def fake_analysis(duration: float) -> Analysis:
    """Two speakers, a few Singlish words, a sample each and one voice embedding."""
    turns = (Turn("SPEAKER_00", 0.0, duration / 2), Turn("SPEAKER_01", duration / 2, duration))
    words = (
        Word("walao", 0.0, 0.1, "SPEAKER_00", heard="while up"),
        Word("lah", 0.1, 0.2, "SPEAKER_00"),
        Word("can", duration / 2, duration / 2 + 0.1, "SPEAKER_01"),
    )
    return Analysis(
        duration=duration,
        turns=turns,
        words=words,
        segments=segments(words, turns),
        counts=(
            SpeakerCounts("SPEAKER_00", {"walao": 1, "lah": 1}),
            SpeakerCounts("SPEAKER_01", {"can": 1}),
        ),
        samples=tuple(
            Sample(turn.speaker, b"ID3" + turn.speaker.encode(), "audio/mpeg", turn.start, turn.end)
            for turn in turns
        ),
        embeddings=(
            VoiceEmbedding("SPEAKER_00", np.ones(4, dtype=np.float32) / 2, "fake-embedder"),
        ),
    )


@dataclass
class FakePipeline:
    """Decodes for real, then reports every stage and returns ``fake_analysis``.

    ``before_analysis`` runs in the worker thread after decoding (to raise, or to wait).
    """

    calls: int = 0
    before_analysis: Callable[[], None] = lambda: None
    models: list[Any] = field(default_factory=list)

    def __call__(
        self, models: Any, chunks: Sequence[Chunk], hook: ProgressHook, *, lexicon: Any = None
    ) -> Analysis:
        self.calls += 1
        self.models.append(models)
        # A pause after each report, so the job writes each one instead of only the latest.
        audio = decode_chunks(chunks, on_progress=_pausing(banded(hook)))
        self.before_analysis()
        speech = _pausing(banded(hook))
        for stage in ("diarize", "transcribe", "correct", "count"):
            speech(stage, 1, 1)
        _pausing(hook)("saving", SAVING_PERCENT, 100)
        finish = _pausing(banded(hook))
        finish("sample", 1, 1)
        finish("embed", 1, 1)
        return fake_analysis(audio.duration)


def _pausing(hook: ProgressHook) -> ProgressHook:
    def report(stage: str, done: int, total: int) -> None:
        hook(stage, done, total)
        time.sleep(PAUSE_SECONDS)

    return report
