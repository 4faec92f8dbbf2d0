"""Turn what an English recogniser made of Singlish back into the tracked words.

Each speaker's run of words is read left to right, most certain rule first: a made-up word
that is a known word run into a particle is split ("bodohla"); spellings and known mishearings
from the lexicon ("wa lao", "cheap buy"); one to three words that *sound* like a multi-syllable
target ("bhoji" -> bojio, "key I see" -> kiasi, by ``lexicon.phonetics``); and one-syllable
look-alikes of the sentence particles ("lot," -> lah) only where a clause ends, since that is
where Singlish puts them, allowing for the consonant a particle borrows from the word before
("again nah" -> again ah). A changed word keeps what the recogniser wrote in ``Word.heard``.
Nothing here is tuned to particular sentences: the lexicon is the only word list of targets.

It must never turn plain English into a target: words in an entry's ``keep`` list, words after
an article ("a lot"), interjections missing a particle's consonant ("oh", "aw", "eh"), and
anything that does not sound close enough stay as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from lahstats.lexicon.lexicon import Lexicon
from lahstats.lexicon.phonetics import (
    VOWELS,
    Phones,
    distance,
    is_english,
    least_distance,
    pronounce,
    similar,
)
from lahstats.pipeline.types import Word

# Largest per-phone distance at which a window of words is taken for a multi-syllable target.
# On dev (oracle turns, whisper-tiny) 0.30 keeps "bhoji ho"->bojio and "kiosy"->kiasi while
# "sean" (0.375), "hello" (0.40) and "see you" (0.37) stay English.
SOUNDS_LIKE = 0.30
# A window made only of dictionary words must sound closer still, and be two words or more: a
# recogniser that writes real English heard English unless the match is near exact. On dev,
# 0.15 keeps "key I see" (0.08) and "cheap buy" (0.125); "coffee", "body", "I saw" stay English.
ENGLISH_SOUNDS_LIKE = 0.15
# The same for a one-syllable particle at a clause end: admits a dropped final stop or a near
# vowel ("lot"->lah 0.25, "met"->meh 0.25, "may"->meh 0.2) but not "her"->hor (0.3).
PARTICLE_SOUNDS_LIKE = 0.25
# Particles a recogniser writes in the middle of a clause are its English look-alike misspelt (it
# is primed with them): on our generated speech (gen2+gen3, whisper-base) 11 of 11 such "meh",
# "lor", "leh", "sia" were someone saying "me", "lower", "late"... "ah" is left alone: it is
# also an ordinary interjection mid-sentence, and counted wherever it stands; "lah" and "hor"
# were never written mid-clause there, so there is no evidence either way.
MID_CLAUSE_ENGLISH = frozenset({"meh", "lor", "leh", "sia"})
# Words further apart than this (seconds) are not read as one phrase.
PHRASE_GAP = 0.6
LONGEST_WINDOW = 3

_CORE = re.compile(r"^(?P<lead>[^a-zA-Z]*)(?P<core>[a-zA-Z]+(?:'[a-zA-Z]+)*)(?P<tail>.*)$")
_CLAUSE_END = re.compile(r"[.,!?;:]")
# After these a one-syllable word is a noun or verb of an English phrase ("a lot", "to let").
_ENGLISH_BEFORE = frozenset(
    "a an the this that my your his her our their its to so very too such what".split()  # noqa: SIM905
)
# Spellings a recogniser splits that mean one English word; "can not" is not the target "can".
_JOINED = {("can", "not"): "cannot"}
# Plain English that sounds like a target but must never become one, whatever the lexicon says.
_ALWAYS_ENGLISH = frozenset("can't cannot ahead asia sean hello lower slow".split())  # noqa: SIM905


@dataclass(frozen=True, slots=True)
class _Target:
    word: str
    phones: tuple[Phones, ...]
    particle: bool


@dataclass(frozen=True, slots=True, eq=False)
class _Rules:
    variants: dict[tuple[str, ...], str]
    targets: tuple[_Target, ...]
    keep: frozenset[str]
    words: frozenset[str]
    particles: frozenset[str]
    particle_spellings: tuple[tuple[str, str], ...]  # (spelling, particle), longest first
    # MID_CLAUSE_ENGLISH particle -> the English look-alike written for it mid-clause
    mid_clause_english: dict[str, str]


@lru_cache(maxsize=64)  # one per lexicon: the built-in one and groups' own
def _rules(lexicon: Lexicon) -> _Rules:
    variants: dict[tuple[str, ...], str] = {}
    for entry in lexicon.entries:
        for variant in entry.variants:
            variants[tuple(variant.split())] = entry.word
    return _Rules(
        variants=variants,
        targets=tuple(
            _Target(entry.word, entry.pronunciations, entry.particle)
            for entry in lexicon.entries
            if entry.pronunciations and not entry.english
        ),
        keep=_ALWAYS_ENGLISH.union(*(entry.keep for entry in lexicon.entries)),
        words=frozenset(lexicon.words),
        particles=frozenset(entry.word for entry in lexicon.entries if entry.particle),
        particle_spellings=tuple(
            sorted(
                (
                    (spelling, entry.word)
                    for entry in lexicon.entries
                    if entry.particle
                    for spelling in (entry.word, *entry.variants)
                    if " " not in spelling
                ),
                key=lambda pair: -len(pair[0]),
            )
        ),
        mid_clause_english={
            entry.word: english
            for entry in lexicon.entries
            if entry.particle and entry.word in MID_CLAUSE_ENGLISH
            if (english := _closest_english(entry.word, entry.keep))
        },
    )


def _core(text: str) -> str:
    match = _CORE.match(text.strip())
    return match["core"].lower() if match else ""


def _runs(words: Sequence[Word]) -> Iterator[list[Word]]:
    """Consecutive words of one speaker without a long pause: the units read as phrases."""
    run: list[Word] = []
    for word in words:
        if run and (word.speaker != run[-1].speaker or word.start - run[-1].end > PHRASE_GAP):
            yield run
            run = []
        run.append(word)
    if run:
        yield run


def _merged(window: Sequence[Word], target: str) -> Word:
    first, last = window[0], window[-1]
    match = _CORE.match(last.text.strip())
    tail = match["tail"] if match else ""
    spoken = first.text.strip()
    text = target.capitalize() if spoken[:1].isupper() else target
    heard = " ".join(word.text.strip() for word in window)
    return replace(
        first,
        text=text + tail,
        end=last.end,
        probability=min(word.probability for word in window),
        heard=heard,
    )


def _same_onset(heard: Phones, particle: Phones) -> bool:
    """A one-syllable particle is its first consonant and a vowel: heard without that consonant
    it is an English interjection ("oh", "aw", "eh"), not "hor" or "leh"."""
    if particle[0] in VOWELS:
        return True
    return bool(heard) and similar(heard[0], particle[0])


@lru_cache(maxsize=65_536)
def _closest(phones: Phones, rules: _Rules, *, particle: bool, ceiling: float) -> tuple[float, str]:
    """The closest-sounding target (particle or not) and how far it is, when one is within
    ``ceiling``; else ``(inf, "")``. Nothing further is ever used, and knowing where to stop
    corrects the same words the same way 6.6x quicker (1,539 distinct words of the long
    recording, 1.77 s -> 0.27 s): the end of a 3-hour session corrects some 28,000."""
    best = (math.inf, "")
    for target in rules.targets:
        if target.particle != particle:
            continue
        for pronunciation in target.phones:
            if particle and not _same_onset(phones, pronunciation):
                continue
            bar = min(best[0], ceiling)
            # every phone one has more than the other is one insertion at least
            if least_distance(phones, pronunciation) > bar:
                continue
            score = distance(phones, pronunciation, bar)
            if score <= ceiling:
                best = min(best, (score, target.word))
    return best


def _clause_final(run: Sequence[Word], at: int, rules: _Rules) -> bool:
    if _CLAUSE_END.search(run[at].text) or at == len(run) - 1:
        return True
    return _core(run[at + 1].text) in rules.words


def _known(stem: str, rules: _Rules) -> bool:
    return len(stem) >= 2 and (stem in rules.words or is_english(stem))


def _split_word(word: Word, rules: _Rules) -> list[Word]:
    """A made-up word that is a known word run into a particle ("bodohla") as the two words."""
    match = _CORE.match(word.text.strip())
    if match is None or is_english(match["core"]) or match["core"].lower() in rules.words:
        return [word]
    core = match["core"].lower()
    for ending, particle in rules.particle_spellings:
        if not core.endswith(ending):
            continue
        cut_at = len(core) - len(ending)
        stem = core[:cut_at]
        # The consonant both words share is said once and may be written twice ("yallor").
        if stem.endswith(ending[0]) and ending[0] not in "aeiou" and _known(stem[:-1], rules):
            stem = stem[:-1]
        if len(stem) >= 2 and _known(stem, rules):
            cut = word.start + (word.end - word.start) * cut_at / len(core)
            heard = word.text.strip()
            return [
                replace(
                    word, text=match["lead"] + match["core"][: len(stem)], end=cut, heard=heard
                ),
                replace(word, text=particle + match["tail"], start=cut, heard=heard),
            ]
    return [word]


def _correct_run(run: list[Word], rules: _Rules) -> list[Word]:
    run = [piece for word in run for piece in _split_word(word, rules)]
    cores = [_core(word.text) for word in run]
    out: list[Word] = []
    at = 0
    while at < len(run):
        word = run[at]
        core = cores[at]
        joined = _JOINED.get((core, cores[at + 1])) if at + 1 < len(run) else None
        if joined is not None:
            out.append(_merged(run[at : at + 2], joined))
            at += 2
            continue
        english = rules.mid_clause_english.get(core)
        if english is not None and not _clause_final(run, at, rules):
            match = _CORE.match(word.text.strip())
            assert match is not None  # core is a word of it
            text = match["lead"] + english + match["tail"]
            out.append(replace(word, text=text, heard=word.text.strip()))
            at += 1
            continue
        if not core or core in rules.words or core in rules.keep:
            out.append(word)
            at += 1
            continue
        found = _phrase(run, cores, at, rules)
        if found is not None:
            size, target = found
            out.append(_merged(run[at : at + size], target))
            at += size
            continue
        previous = cores[at - 1] if at else ""
        if previous not in _ENGLISH_BEFORE and _clause_final(run, at, rules):
            score, target = _closest(
                pronounce(core), rules, particle=True, ceiling=PARTICLE_SOUNDS_LIKE
            )
            # Carrying over happens within a phrase, not across a comma ("come on, nah").
            linked = at > 0 and not _CLAUSE_END.search(run[at - 1].text)
            carried = _carried_over(previous, core) if linked else ()
            exact = _closest(carried, rules, particle=True, ceiling=0.0) if carried else None
            if exact is not None and exact[0] == 0:
                # A guess on top of a guess: only an exact particle once the consonant is gone.
                score, target = exact
            if score <= PARTICLE_SOUNDS_LIKE:
                out.append(_merged([word], target))
                at += 1
                continue
        out.append(word)
        at += 1
    return out


def _closest_english(particle: str, keep: Iterable[str]) -> str:
    """Of a particle's English look-alikes, the closest-sounding dictionary word (``meh`` ->
    "may"): what a particle written mid-clause becomes, so it is not counted; "" if none."""
    sounds = pronounce(particle)
    english = sorted(word for word in keep if is_english(word))
    return min(english, key=lambda word: distance(pronounce(word), sounds), default="")


def clause_ends(words: Sequence[Word], lexicon: Lexicon) -> tuple[bool, ...]:
    """For each word, whether a clause ends with it (as the particle rules read it)."""
    rules = _rules(lexicon)
    return tuple(_clause_final(run, at, rules) for run in _runs(words) for at in range(len(run)))


def _carried_over(previous: str, core: str) -> Phones:
    """``core`` without a first consonant that ``previous`` ends with: in connected speech the
    consonant carries over to the next word ("again ah" heard as "again nah"); else ()."""
    phones = pronounce(core)
    if previous and len(phones) > 1 and phones[0] not in VOWELS:
        return phones[1:] if pronounce(previous)[-1:] == phones[:1] else ()
    return ()


def _spoken(window: Sequence[str]) -> Phones:
    """The phones of words said together: a sound shared across a word boundary is said once
    ("well lau" is W EH L AW), as in connected speech."""
    phones: list[str] = []
    for core in window:
        for phone in pronounce(core):
            if not (phones and phones[-1] == phone):
                phones.append(phone)
    return tuple(phones)


def _phrase(
    run: Sequence[Word], cores: Sequence[str], at: int, rules: _Rules
) -> tuple[int, str] | None:
    """The longest window starting here that is a variant, else the closest-sounding target."""
    longest = min(LONGEST_WINDOW, len(run) - at)
    windows = [tuple(cores[at : at + size]) for size in range(1, longest + 1)]
    usable = [
        window
        for window in windows
        # A look-alike kept as English stays so alone, but may be part of a phrase ("key I see").
        if all(core and core not in rules.words for core in window)
        and not (len(window) == 1 and window[0] in rules.keep)
    ]
    for window in reversed(usable):
        meant = rules.variants.get(window)
        if meant is None:
            continue
        # "la" is lah at a clause end, but not in "La La Land".
        if meant not in rules.particles or _clause_final(run, at + len(window) - 1, rules):
            return len(window), meant
    best: tuple[float, int, str] | None = None
    for window in usable:
        english = all(is_english(core) for core in window)
        if english and len(window) == 1:
            continue
        limit = ENGLISH_SOUNDS_LIKE if english else SOUNDS_LIKE
        score, target = _closest(_spoken(window), rules, particle=False, ceiling=limit)
        if score <= limit and (best is None or score < best[0]):
            best = (score, len(window), target)
    return None if best is None else (best[1], best[2])


def correct(words: Sequence[Word], lexicon: Lexicon) -> tuple[Word, ...]:
    """The words with Singlish mishearings replaced by tracked words (``heard`` keeps the old)."""
    rules = _rules(lexicon)
    corrected: list[Word] = []
    for run in _runs(words):
        corrected.extend(_correct_run(run, rules))
    return tuple(corrected)
