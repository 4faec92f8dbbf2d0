"""The lexicon: the 20 targets load from data, custom words join them, bad entries are refused."""

from __future__ import annotations

import pytest

from lahstats.lexicon.lexicon import LexiconEntry, load_lexicon

TARGETS = [
    "walao",
    "cheebai",
    "lanjiao",
    "lah",
    "lor",
    "sia",
    "meh",
    "leh",
    "hor",
    "ah",
    "can",
    "paiseh",
    "shiok",
    "sian",
    "alamak",
    "aiyo",
    "bodoh",
    "kiasu",
    "kiasi",
    "bojio",
]


def test_the_twenty_targets_in_canonical_order() -> None:
    lexicon = load_lexicon()
    assert list(lexicon.words) == TARGETS
    assert all(entry.pronunciations for entry in lexicon.entries)
    assert "wa lao" in lexicon.entry("walao").variants
    assert lexicon.entry("lah").particle
    assert not lexicon.entry("walao").particle
    assert "law" in lexicon.entry("lor").keep


def test_example_uses_every_target() -> None:
    example = load_lexicon().example.lower()
    for word in TARGETS:
        assert word in example or any(v in example for v in load_lexicon().entry(word).variants)


def test_custom_words_are_appended_and_primed() -> None:
    makan = LexiconEntry.of("Makan", variants=["ma kan"], pronunciations=["m aa k aa n"])
    lexicon = load_lexicon([makan])
    assert lexicon.words[-1] == "makan"
    assert lexicon.entry("makan").pronunciations == (("M", "AA", "K", "AA", "N"),)
    assert "Makan." in lexicon.example
    assert "makan" in lexicon
    assert "makan" not in load_lexicon()


@pytest.mark.parametrize(
    ("word", "pronunciation", "complaint"),
    [
        ("two words", "T UW", "one lower-case word"),
        ("", "T UW", "one lower-case word"),
        ("ok", "t-uw", "ARPAbet"),
        ("ok", "", "ARPAbet"),
    ],
    ids=["two-words", "empty", "not-arpabet", "no-phones"],
)
def test_bad_entries_are_refused(word: str, pronunciation: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        LexiconEntry.of(word, pronunciations=[pronunciation])


def test_a_tracked_word_cannot_be_added_twice() -> None:
    with pytest.raises(ValueError, match="already"):
        load_lexicon([LexiconEntry.of("lah")])
