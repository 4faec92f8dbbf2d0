"""A group's own words: tracked on top of the built-in twenty, in that group's sessions only.

    add     any member; the word, other spellings it is heard as, and how it sounds (ARPAbet)
    list    the built-in words (flagged) and the group's, in lexicon order
    delete  any member may remove a word the group added (a group of friends shares its words,
            like its sessions); built-in words cannot be removed

New sessions of the group count its words (the job builds ``group_lexicon``). Past sessions
change only when someone recounts them (``words.recount``): deleting a word does not recount.
A word must never take counts from another: it may not be, or be spelled like, a tracked word.
The service never commits (the caller's unit of work does) and never speaks HTTP.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Conflict, InvalidInput, NotFound
from lahstats.groups.service import GroupService
from lahstats.lexicon.lexicon import Lexicon, LexiconEntry, load_lexicon
from lahstats.lexicon.phonetics import VOWELS, is_english
from lahstats.pipeline.correct import LONGEST_WINDOW
from lahstats.storage.models import WORD_MAX_LENGTH, GroupWord
from lahstats.storage.repositories import GroupWordRepository
from lahstats.words.schemas import WordOut, WordsOut

MAX_VARIANTS = 20
VARIANT_MAX_LENGTH = 40
MAX_GROUP_WORDS = 50  # every word is tried against every heard word: keep correction quick
PRONUNCIATION_MAX_LENGTH = 200
ARPABET = VOWELS | frozenset(
    "B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z]+")
_VARIANT = re.compile(r"[a-z]+(?:'[a-z]+)*(?: [a-z]+(?:'[a-z]+)*)*")
_STRESS = re.compile(r"(?<=[A-Z])[0-2]")
_EXAMPLE = 'Send e.g. {"word": "makan", "variants": ["makin"], "pronunciation": "M AA K AA N"}.'


class CustomWordService:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session
        self._groups = GroupService(session)
        self._words = GroupWordRepository(session)

    async def add(
        self,
        *,
        group_id: uuid.UUID,
        caller_id: uuid.UUID,
        word: str,
        variants: Iterable[str] = (),
        pronunciation: str | None = None,
    ) -> WordOut:
        """Adds a word to the group; ``Conflict`` when it is tracked or spelled like one already."""
        await self._groups.visible(group_id, caller_id)
        word = _checked_word(word)
        spellings = _checked_variants(word, variants)
        phones = _checked_pronunciation(pronunciation)
        try:
            LexiconEntry.of(word, variants=spellings, pronunciations=[phones] if phones else [])
        except ValueError as exc:  # what the checks above let through, the lexicon refuses
            raise InvalidInput(str(exc), hint=_EXAMPLE) from exc
        lexicon = await group_lexicon(self._db, group_id)
        _refuse_clashes(word, spellings, lexicon)
        if await self._words.count_for_group(group_id) >= MAX_GROUP_WORDS:
            raise Conflict(
                f"the group already tracks {MAX_GROUP_WORDS} words of its own",
                hint="Remove a word the group no longer says before adding another.",
            )
        try:
            async with self._db.begin_nested():
                row = await self._words.add(
                    group_id=group_id,
                    word=word,
                    variants_json=json.dumps(list(spellings)),
                    pronunciation=phones,
                    created_by=caller_id,
                )
        except IntegrityError as exc:  # another member added it a moment ago
            raise _already_tracked(word) from exc
        return _tracked(row)

    async def list(self, group_id: uuid.UUID, caller_id: uuid.UUID) -> WordsOut:
        """The built-in words, then the group's own (oldest first)."""
        await self._groups.visible(group_id, caller_id)
        builtin = [
            WordOut(
                word=entry.word,
                builtin=True,
                variants=list(entry.variants),
                pronunciations=[" ".join(phones) for phones in entry.pronunciations],
            )
            for entry in load_lexicon().entries
        ]
        own = [_tracked(row) for row in await self._words.list_for_group(group_id)]
        return WordsOut(words=builtin + own)

    async def delete(self, *, group_id: uuid.UUID, caller_id: uuid.UUID, word: str) -> None:
        """Removes one of the group's words; past sessions keep their counts until a recount."""
        await self._groups.visible(group_id, caller_id)
        word = word.strip().lower()
        if word in load_lexicon():
            raise Conflict(
                "built-in words cannot be removed",
                hint=f"{word!r} is one of the words every group counts; remove only your own.",
            )
        if not await self._words.remove(group_id, word):
            raise NotFound(
                f"the group does not track {word[:WORD_MAX_LENGTH]!r}",
                hint=f"List the group's words with GET /groups/{group_id}/words.",
            )


async def group_lexicon(db: AsyncSession, group_id: uuid.UUID) -> Lexicon:
    """The built-in words plus the group's own: what the group's sessions are counted with."""
    builtin = load_lexicon()
    rows = await GroupWordRepository(db).list_for_group(group_id)
    # A word that became built-in after the group added it is counted once, as the built-in.
    return load_lexicon(entry_of(row) for row in rows if row.word not in builtin)


def entry_of(row: GroupWord) -> LexiconEntry:
    """A stored word as a lexicon entry.

    An everyday English word ("shopping") is marked ``english``: recognisers spell it right when
    they hear it, so it is counted as spelled (or by its variants) and never made out of a
    sound-alike, like the built-in "can".
    """
    return LexiconEntry.of(
        row.word,
        variants=_stored_variants(row.variants),
        pronunciations=[row.pronunciation] if row.pronunciation else [],
        english=is_english(row.word),
    )


def _tracked(row: GroupWord) -> WordOut:
    return WordOut(
        word=row.word,
        builtin=False,
        variants=list(_stored_variants(row.variants)),
        pronunciations=[row.pronunciation] if row.pronunciation else [],
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _stored_variants(text: str) -> tuple[str, ...]:
    found = json.loads(text or "[]")
    return tuple(str(variant) for variant in found) if isinstance(found, list) else ()


def _checked_word(word: str) -> str:
    clean = word.strip().lower()
    if not _WORD.fullmatch(clean):
        raise InvalidInput(
            f"a tracked word is one word of the letters a to z, got {word[:WORD_MAX_LENGTH]!r}",
            hint=f"Put other spellings and multi-word forms in variants. {_EXAMPLE}",
        )
    if len(clean) > WORD_MAX_LENGTH:
        raise InvalidInput(
            f"a tracked word has at most {WORD_MAX_LENGTH} letters, got {len(clean)}",
            hint=_EXAMPLE,
        )
    return clean


def _checked_variants(word: str, variants: Iterable[str]) -> tuple[str, ...]:
    clean: list[str] = []
    for variant in variants:
        spelling = " ".join(variant.lower().split())
        if not _VARIANT.fullmatch(spelling) or len(spelling) > VARIANT_MAX_LENGTH:
            raise InvalidInput(
                f"a variant is up to {VARIANT_MAX_LENGTH} characters of lower-case words (letters "
                f"a to z, apostrophes inside a word), got {variant[:VARIANT_MAX_LENGTH]!r}",
                hint=f'Write it as the recogniser would, e.g. "make an". {_EXAMPLE}',
            )
        if len(spelling.split()) > LONGEST_WINDOW:
            raise InvalidInput(
                f"a variant has at most {LONGEST_WINDOW} words, got {spelling!r}",
                hint="Longer phrases are never matched; give the shortest form that is heard.",
            )
        if spelling != word and spelling not in clean:
            clean.append(spelling)
    if len(clean) > MAX_VARIANTS:
        raise InvalidInput(
            f"a word takes at most {MAX_VARIANTS} variants, got {len(clean)}",
            hint="Keep the spellings the recogniser really writes.",
        )
    return tuple(clean)


def _checked_pronunciation(pronunciation: str | None) -> str | None:
    if pronunciation is None or not pronunciation.strip():
        return None
    phones = _STRESS.sub("", pronunciation.upper()).split()
    unknown = [phone for phone in phones if phone not in ARPABET]
    if unknown or len(pronunciation) > PRONUNCIATION_MAX_LENGTH:
        raise InvalidInput(
            f"a pronunciation is ARPAbet phones separated by spaces (at most "
            f"{PRONUNCIATION_MAX_LENGTH} characters); not phones: {' '.join(unknown[:5]) or '-'}",
            hint='Write it as in the CMU dictionary, without stress: "M AA K AA N" for makan. '
            f"Phones: {' '.join(sorted(ARPABET))}.",
        )
    return " ".join(phones)


def _refuse_clashes(word: str, variants: Sequence[str], lexicon: Lexicon) -> None:
    """A word or variant that is a tracked word, or another word's variant, would move counts."""
    meaning = {variant: entry.word for entry in lexicon.entries for variant in entry.variants}
    if word in lexicon:
        if word in load_lexicon():
            raise Conflict(
                f"{word!r} is one of the built-in words",
                hint="Every group counts it already; nothing to add.",
            )
        raise _already_tracked(word)
    if word in meaning:
        raise Conflict(
            f"{word!r} is already counted as {meaning[word]!r}",
            hint=f"It is a variant of {meaning[word]!r}; pick another word.",
        )
    for variant in variants:
        taken = meaning.get(variant)
        if taken is not None:
            raise Conflict(
                f"the variant {variant!r} is already counted as {taken!r}",
                hint="Leave that variant out: it would take that word's counts.",
            )
        tracked = [part for part in variant.split() if part in lexicon or part == word]
        if tracked:
            raise Conflict(
                f"the variant {variant!r} contains the tracked word {tracked[0]!r}",
                hint="A tracked word is counted as itself, so this variant would never match.",
            )


def _already_tracked(word: str) -> Conflict:
    return Conflict(
        f"the group already tracks {word!r}",
        hint="Delete it first to change its variants or pronunciation.",
    )
