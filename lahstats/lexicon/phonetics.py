"""How words sound: ARPAbet phones for any written word, and a distance between pronunciations.

Known English words take their pronunciation from the CMU dictionary that ships inside the
``pocketsphinx`` package; anything else (a recogniser's made-up spelling such as "bhoji" or
"cnci") is sounded out by letter rules. The distance is an edit distance whose costs follow
how speech recognisers confuse sounds: vowels for vowels, voiced for voiceless, dropped final
stops. Nothing here decides what a word *is*; ``pipeline.correct`` does.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from functools import cache
from importlib.util import find_spec
from pathlib import Path

Phones = tuple[str, ...]

VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())  # noqa: SIM905
# Pairs a recogniser swaps freely: voicing, place within a manner, near vowels.
_NEAR: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "P B",
        "T D",
        "K G",
        "CH JH SH ZH",
        "S Z SH",
        "F V",
        "TH DH",
        "M N NG",
        "AA AH AO AW",
        "AE EH",
        "EH EY",
        "IY IH Y",
        "OW AO UH",
        "UW UH",
        "AY AA",
        "L R",
    )
)
# Sounds that come and go without changing what was said: breath, glides, unreleased stops.
_WEAK = frozenset("HH Y W R T D K P".split())  # noqa: SIM905

SUBSTITUTE_VOWEL = 0.6
SUBSTITUTE_NEAR = 0.4
INSERT_WEAK = 0.5

_LETTERS: tuple[tuple[str, str], ...] = (
    ("tch", "CH"),
    ("sch", "S K"),
    ("sh", "SH"),
    ("ch", "CH"),
    ("th", "TH"),
    ("ng", "NG"),
    ("ph", "F"),
    ("ck", "K"),
    ("gh", "G"),
    ("oo", "UW"),
    ("ee", "IY"),
    ("ea", "IY"),
    ("ai", "AY"),
    ("ae", "EY"),  # "mae", "sundae": a made-up "lae" is L EY, not L AA EH
    ("ay", "EY"),
    ("au", "AW"),
    ("ao", "AW"),
    ("ou", "AW"),
    ("oi", "OY"),
    ("oy", "OY"),
    ("ow", "OW"),
    ("aw", "AO"),
    ("ie", "IY"),
    ("ah", "AA"),
    ("eh", "EH"),
    ("oh", "OW"),
    ("uh", "AH"),
    ("a", "AA"),
    ("b", "B"),
    ("c", "K"),
    ("d", "D"),
    ("e", "EH"),
    ("f", "F"),
    ("g", "G"),
    ("h", "HH"),
    ("i", "IY"),
    ("j", "JH"),
    ("k", "K"),
    ("l", "L"),
    ("m", "M"),
    ("n", "N"),
    ("o", "OW"),
    ("p", "P"),
    ("q", "K"),
    ("r", "R"),
    ("s", "S"),
    ("t", "T"),
    ("u", "UW"),
    ("v", "V"),
    ("w", "W"),
    ("x", "K S"),
    ("y", "Y"),
    ("z", "Z"),
)
_LETTER_NAMES = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        [
            "EY",
            "B IY",
            "S IY",
            "D IY",
            "IY",
            "EH F",
            "JH IY",
            "EY CH",
            "AY",
            "JH EY",
            "K EY",
            "EH L",
            "EH M",
            "EH N",
            "OW",
            "P IY",
            "K Y UW",
            "AA R",
            "EH S",
            "T IY",
            "Y UW",
            "V IY",
            "D AH B AH L Y UW",
            "EH K S",
            "W AY",
            "Z IY",
        ],
        strict=True,
    )
)
_NO_VOWEL = re.compile(r"[^aeiouy]+")


def _dictionary_path() -> Path | None:
    spec = find_spec("pocketsphinx")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)))
    path = path / "model" / "en-us" / "cmudict-en-us.dict"
    return path if path.is_file() else None


@cache
def dictionary() -> dict[str, Phones]:
    """CMUdict (first pronunciation of each word); empty if pocketsphinx is absent."""
    path = _dictionary_path()
    if path is None:
        return {}
    entries: dict[str, Phones] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, phones = line.strip().partition(" ")
            if "(" not in word and phones:
                entries.setdefault(word, tuple(phones.split()))
    return entries


def sound_out(spelling: str) -> Phones:
    """Phones for a spelling no dictionary knows, by greedy letter rules."""
    if _NO_VOWEL.fullmatch(spelling):  # no vowel ("mrt", "cnc"): an acronym, said letter by letter
        return tuple(p for letter in spelling for p in _LETTER_NAMES[letter].split())
    phones: list[str] = []
    at = 0
    while at < len(spelling):
        for letters, sound in _LETTERS:
            if spelling.startswith(letters, at):
                phones.extend(sound.split())
                at += len(letters)
                break
        else:
            at += 1  # not a letter we sound out (an apostrophe)
    return tuple(phones)


@cache
def pronounce(word: str) -> Phones:
    """Phones of one lower-case word: CMUdict when it knows the word, letter rules if not."""
    word = word.lower().strip("'")
    if not word:
        return ()
    known = dictionary().get(word)
    return known if known is not None else sound_out(word)


def is_english(word: str) -> bool:
    """Whether the CMU dictionary knows this spelling."""
    return word.lower().strip("'") in dictionary()


@cache
def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if any(a in group and b in group for group in _NEAR):
        return SUBSTITUTE_NEAR
    if a in VOWELS and b in VOWELS:
        return SUBSTITUTE_VOWEL
    return 1.0


def similar(a: str, b: str) -> bool:
    """Whether two phones are the same or ones a recogniser swaps freely (L/R, M/N, T/D...)."""
    return _substitution(a, b) <= SUBSTITUTE_NEAR


@cache
def _indel(phone: str) -> float:
    return INSERT_WEAK if phone in _WEAK else 1.0


def least_distance(heard: Sequence[str], target: Sequence[str]) -> float:
    """A floor under ``distance``, in O(1): each phone one has more than the other is at
    least one insertion of the cheapest kind (``INSERT_WEAK``)."""
    if not target:
        return float(len(heard) > 0)
    return abs(len(heard) - len(target)) * min(INSERT_WEAK, 1.0) / len(target)


def distance(heard: Sequence[str], target: Sequence[str], ceiling: float = math.inf) -> float:
    """Weighted edit distance per target phone: 0 is the same sound, 1 about all different.
    ``inf`` as soon as it is sure to be over ``ceiling`` (no row of the table can shrink)."""
    if not target:
        return float(len(heard) > 0)
    inserted = [_indel(phone) for phone in target]
    previous = [0.0, *itertools.accumulate(inserted)]
    give_up = ceiling * len(target) + 1e-9
    for h in heard:
        dropped = _indel(h)
        current = [previous[0] + dropped]
        for j, t in enumerate(target, start=1):
            current.append(
                min(
                    previous[j] + dropped,
                    current[j - 1] + inserted[j - 1],
                    previous[j - 1] + _substitution(h, t),
                )
            )
        if min(current) > give_up:
            return math.inf
        previous = current
    return previous[-1] / len(target)
