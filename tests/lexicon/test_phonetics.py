"""Pronunciations come from CMUdict or letter rules; the distance ranks sound-alikes."""

from __future__ import annotations

from lahstats.lexicon.phonetics import distance, is_english, pronounce, similar, sound_out


def test_dictionary_words_and_made_up_spellings() -> None:
    assert is_english("while")
    assert not is_english("bhoji")
    assert pronounce("while") == ("W", "AY", "L")
    assert pronounce("Bojio") == sound_out("bojio") == ("B", "OW", "JH", "IY", "OW")
    assert sound_out("cnc") == ("S", "IY", "EH", "N", "S", "IY")  # no vowel: letter names
    assert sound_out("lae") == ("L", "EY")  # "ae" as in "Mae", not two vowels


def test_distance_ranks_near_sounds_first() -> None:
    walao = ("W", "AA", "L", "AW")
    assert distance(walao, walao) == 0
    assert distance(pronounce("lot"), ("L", "AA")) < distance(pronounce("lord"), ("L", "AA"))
    assert distance(pronounce("cheap") + pronounce("buy"), ("CH", "IY", "B", "AY")) < 0.2
    assert distance(pronounce("sean"), ("S", "IY", "EH", "N")) > 0.3


def test_similar_phones_are_the_ones_recognisers_swap() -> None:
    assert similar("L", "L")
    assert similar("L", "R")
    assert similar("M", "N")
    assert not similar("W", "L")
    assert not similar("HH", "AO")
