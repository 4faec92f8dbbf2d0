"""A recognition to recount: what a recogniser might write for the two-voice fixture, with the
diarized turns, and a custom word it contains three ways (by two variants and by sound)."""

from __future__ import annotations

from lahstats.lexicon.lexicon import LexiconEntry
from lahstats.pipeline.types import Turn, Word

TURNS = (Turn("SPEAKER_00", 0.0, 4.9), Turn("SPEAKER_01", 5.4, 12.4))


def _said(speaker: str, start: float, *texts: str) -> list[Word]:
    return [
        Word(text, start + 0.3 * at, start + 0.3 * at + 0.25, speaker, 0.5)
        for at, text in enumerate(texts)
    ]


HEARD = (
    *_said("SPEAKER_00", 0.0, "While", "up,", "the", "queue", "very", "long", "one", "lot."),
    *_said("SPEAKER_01", 5.5, "Okay", "low,", "can", "or", "not?", "We", "go", "makin'"),
    *_said("SPEAKER_01", 8.6, "then", "we", "make", "an", "again,", "mahkan", "together."),
)
MAKAN = LexiconEntry.of("makan", variants=["makin", "make an"], pronunciations=["M AA K AA N"])
