"""The words lahstats counts: the 20 Singlish targets from ``lexicon.toml`` plus a group's own.

A ``Lexicon`` is read once and passed to the stages that need it (transcription steering,
correction, counting). It is plain data: adding a word means adding a table to the TOML file
or a ``LexiconEntry`` to ``load_lexicon``, never code. Nothing here touches audio or a model.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

WORD = re.compile(r"[a-z]+('[a-z]+)*")
PHONE = re.compile(r"[A-Z]{1,2}")


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One tracked word: how it is spelled, misheard and pronounced (see ``lexicon.toml``)."""

    word: str
    variants: tuple[str, ...] = ()
    pronunciations: tuple[tuple[str, ...], ...] = ()
    particle: bool = False
    keep: tuple[str, ...] = ()
    english: bool = False

    def __post_init__(self) -> None:
        if not WORD.fullmatch(self.word):
            raise ValueError(f"a tracked word must be one lower-case word, got {self.word!r}")
        for pronunciation in self.pronunciations:
            if not pronunciation or not all(PHONE.fullmatch(phone) for phone in pronunciation):
                raise ValueError(f"{self.word}: pronunciations are ARPAbet phones, {pronunciation}")

    @classmethod
    def of(
        cls,
        word: str,
        *,
        variants: Iterable[str] = (),
        pronunciations: Iterable[str] = (),
        particle: bool = False,
        keep: Iterable[str] = (),
        english: bool = False,
    ) -> LexiconEntry:
        """An entry from spellings and space-separated ARPAbet strings ("W AA L AW")."""
        return cls(
            word=word.strip().lower(),
            variants=tuple(variant.strip().lower() for variant in variants),
            pronunciations=tuple(tuple(p.upper().split()) for p in pronunciations),
            particle=particle,
            keep=tuple(spelling.strip().lower() for spelling in keep),
            english=english,
        )


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The tracked words, in canonical order (the built-in 20 first, then custom words).

    ``example`` is Singlish text that uses the words, for priming a recogniser.
    """

    entries: tuple[LexiconEntry, ...]
    example: str = ""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(entry.word for entry in self.entries)

    def entry(self, word: str) -> LexiconEntry:
        for entry in self.entries:
            if entry.word == word:
                return entry
        raise KeyError(word)

    def __contains__(self, word: object) -> bool:
        return any(entry.word == word for entry in self.entries)


def _entry(table: Mapping[str, Any]) -> LexiconEntry:
    return LexiconEntry.of(
        table["word"],
        variants=table.get("variants", ()),
        pronunciations=table.get("pronunciations", ()),
        particle=bool(table.get("particle", False)),
        keep=table.get("keep", ()),
        english=bool(table.get("english", False)),
    )


@cache
def _builtin() -> tuple[tuple[LexiconEntry, ...], str]:
    data = tomllib.loads(files("lahstats.lexicon").joinpath("lexicon.toml").read_text("utf-8"))
    return tuple(_entry(table) for table in data["word"]), str(data.get("example", ""))


def builtin_example() -> str:
    """The lexicon file's own example sentence, before any custom word is appended."""
    return _builtin()[1].strip()


def load_lexicon(extra: Iterable[LexiconEntry] = ()) -> Lexicon:
    """The built-in targets plus ``extra``; a custom word that is already tracked is refused."""
    builtin, example = _builtin()
    entries = list(builtin)
    seen = {entry.word for entry in entries}
    custom: list[str] = []
    for entry in extra:
        if entry.word in seen:
            raise ValueError(f"{entry.word!r} is already a tracked word")
        seen.add(entry.word)
        entries.append(entry)
        custom.append(entry.word)
    if custom:
        example = f"{example} {', '.join(custom).capitalize()}."
    return Lexicon(tuple(entries), example.strip())
