"""Counting follows the ground truth's rule exactly; transcript lines follow the turns."""

from __future__ import annotations

import pytest

from lahstats.lexicon.lexicon import LexiconEntry, load_lexicon
from lahstats.pipeline.count import count_words, segments, tokens
from lahstats.pipeline.types import Turn, Word

LEXICON = load_lexicon()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can't, LAH!", ["can't", "lah"]),
        ("lah-lah", ["lah", "lah"]),
        ("o'clock 10 ah?", ["o'clock", "ah"]),
        ("  ", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_counts_exact_tokens_per_speaker() -> None:
    words = [
        Word("Lah!", 0, 1, "A"),
        Word("LAH", 1, 2, "A"),
        Word("can't", 2, 3, "A"),
        Word("cannot", 3, 4, "B"),
        Word("can", 4, 5, "B"),
        Word("ah,", 5, 6, "B"),
        Word("ahead", 6, 7, "B"),
        Word("la", 7, 8, "B"),
        Word("hello", 8, 9, "C"),
    ]
    counts = {c.speaker: dict(c.counts) for c in count_words(words, LEXICON)}
    assert counts == {"A": {"lah": 2}, "B": {"ah": 1, "can": 1}, "C": {}}


def test_counts_are_in_lexicon_order_and_include_custom_words() -> None:
    lexicon = load_lexicon([LexiconEntry.of("makan")])
    words = [Word("makan", 0, 1, "A"), Word("walao", 1, 2, "A"), Word("lah", 2, 3, "A")]
    (only,) = count_words(words, lexicon)
    assert list(only.counts) == ["walao", "lah", "makan"]
    assert only.total == 3


def test_segments_split_by_speaker_and_turn() -> None:
    turns = (Turn("A", 0, 2), Turn("B", 2, 4), Turn("A", 4, 6))
    words = [
        Word("Okay", 0.1, 0.5, "A"),
        Word("lor.", 0.6, 1.0, "A"),
        Word("Can", 2.1, 2.5, "B"),
        Word("lah.", 2.6, 3.0, "B"),
        Word("Walao.", 4.2, 4.8, "A"),
    ]
    assert [(s.speaker, s.start, s.end, s.text) for s in segments(words, turns)] == [
        ("A", 0.1, 1.0, "Okay lor."),
        ("B", 2.1, 3.0, "Can lah."),
        ("A", 4.2, 4.8, "Walao."),
    ]
