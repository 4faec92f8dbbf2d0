"""A group's own words on a real database (SQLite and PostgreSQL): added by any member, checked
with a message that says what to fix, kept apart from other groups, and in the group's lexicon."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from lahstats.errors import Conflict, InvalidInput, NotFound
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.storage.database import Database
from lahstats.words.custom import MAX_GROUP_WORDS, CustomWordService, group_lexicon
from lahstats.words.schemas import WordOut
from tests.speakers.recordings import group, person

BUILTIN = list(load_lexicon().words)


@dataclass(frozen=True)
class Friends:
    db: Database
    owner: uuid.UUID
    member: uuid.UUID
    outsider: uuid.UUID
    kopi: uuid.UUID  # owner and member
    other: uuid.UUID  # the outsider's


@pytest.fixture
async def friends(database: Database) -> Friends:
    owner = await person(database, "ah.boy@example.com")
    member = await person(database, "ah.girl@example.com")
    outsider = await person(database, "stranger@example.com")
    return Friends(
        db=database,
        owner=owner,
        member=member,
        outsider=outsider,
        kopi=await group(database, owner, member),
        other=await group(database, outsider, name="Other"),
    )


async def add(
    f: Friends,
    word: str,
    *,
    caller: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    variants: tuple[str, ...] = (),
    pronunciation: str | None = None,
) -> WordOut:
    async with f.db.session() as s:
        return await CustomWordService(s).add(
            group_id=group_id or f.kopi,
            caller_id=caller or f.owner,
            word=word,
            variants=variants,
            pronunciation=pronunciation,
        )


async def listed(f: Friends, group_id: uuid.UUID, caller: uuid.UUID) -> list[WordOut]:
    async with f.db.session() as s:
        return (await CustomWordService(s).list(group_id, caller)).words


async def delete(f: Friends, word: str, *, caller: uuid.UUID, group_id: uuid.UUID) -> None:
    async with f.db.session() as s:
        await CustomWordService(s).delete(group_id=group_id, caller_id=caller, word=word)


async def test_a_member_adds_a_word_that_joins_the_group_lexicon(friends: Friends) -> None:
    added = await add(
        friends,
        "  Makan ",
        caller=friends.member,
        variants=("Makin", "make  an", "makin", "makan"),
        pronunciation="m aa1 k aa0 n",
    )

    assert added.word == "makan"
    assert not added.builtin
    assert added.variants == ["makin", "make an"]  # lower-cased, spaces tidied, once each
    assert added.pronunciations == ["M AA K AA N"]  # stress marks dropped
    assert added.created_by == friends.member
    words = await listed(friends, friends.kopi, friends.owner)
    assert [w.word for w in words] == [*BUILTIN, "makan"]
    assert all(w.builtin for w in words[:-1])
    assert words[-1] == added
    async with friends.db.session() as s:
        lexicon = await group_lexicon(s, friends.kopi)
    assert lexicon.words == (*BUILTIN, "makan")
    entry = lexicon.entry("makan")
    assert entry.variants == ("makin", "make an")
    assert entry.pronunciations == (("M", "AA", "K", "AA", "N"),)
    assert not entry.english


async def test_a_word_without_variants_or_pronunciation_is_counted_as_spelled(
    friends: Friends,
) -> None:
    added = await add(friends, "shopping")

    assert (added.variants, added.pronunciations) == ([], [])
    async with friends.db.session() as s:
        entry = (await group_lexicon(s, friends.kopi)).entry("shopping")
    assert entry.english  # an English word is never made out of a sound-alike


async def test_a_group_sees_and_counts_only_its_own_words(friends: Friends) -> None:
    await add(friends, "makan")
    await add(friends, "makan", caller=friends.outsider, group_id=friends.other)  # its own copy
    await add(friends, "shiokdao", caller=friends.outsider, group_id=friends.other)

    assert [w.word for w in await listed(friends, friends.kopi, friends.member)][-1:] == ["makan"]
    async with friends.db.session() as s:
        assert "shiokdao" not in await group_lexicon(s, friends.kopi)
        assert "shiokdao" in await group_lexicon(s, friends.other)


async def test_outsiders_are_told_the_group_does_not_exist(friends: Friends) -> None:
    await add(friends, "makan")

    with pytest.raises(NotFound):
        await add(friends, "shiokdao", caller=friends.outsider)
    with pytest.raises(NotFound):
        await listed(friends, friends.kopi, friends.outsider)
    with pytest.raises(NotFound):
        await delete(friends, "makan", caller=friends.outsider, group_id=friends.kopi)
    with pytest.raises(NotFound):
        await listed(friends, uuid.uuid4(), friends.owner)
    assert "makan" in [w.word for w in await listed(friends, friends.kopi, friends.owner)]


@pytest.mark.parametrize(
    ("word", "variants", "pronunciation", "says"),
    [
        ("makan lah", (), None, "one word of the letters a to z"),
        ("mak4n", (), None, "one word of the letters a to z"),
        ("", (), None, "one word of the letters a to z"),
        ("a" * 65, (), None, "at most 64 letters"),
        ("makan", ("mak 4n",), None, "a variant is up to"),
        ("makan", ("m" * 41,), None, "a variant is up to"),
        ("makan", ("we go to makan",), None, "at most 3 words"),
        ("makan", tuple(f"makan{'x' * n}" for n in range(1, 22)), None, "at most 20 variants"),
        ("makan", (), "M AA Q AA N", "not phones: Q"),
        ("makan", (), "makan", "not phones: MAKAN"),
    ],
    ids=[
        "two words",
        "a digit",
        "empty",
        "too long",
        "variant with a digit",
        "variant too long",
        "variant of four words",
        "21 variants",
        "unknown phone",
        "spelling as pronunciation",
    ],
)
async def test_bad_words_are_refused_with_what_to_fix(
    friends: Friends,
    word: str,
    variants: tuple[str, ...],
    pronunciation: str | None,
    says: str,
) -> None:
    with pytest.raises(InvalidInput, match=says) as refused:
        await add(friends, word, variants=variants, pronunciation=pronunciation)

    assert refused.value.hint != InvalidInput.default_hint
    assert [w.word for w in await listed(friends, friends.kopi, friends.owner)] == BUILTIN


@pytest.mark.parametrize(
    ("word", "variants", "says"),
    [
        ("lah", (), "one of the built-in words"),
        ("walau", (), "already counted as 'walao'"),
        ("makan", ("wa lao",), "'wa lao' is already counted as 'walao'"),
        ("makan", ("can lah",), "contains the tracked word 'can'"),
        ("makan", ("go makan",), "contains the tracked word 'makan'"),
    ],
    ids=["built-in", "a built-in's variant", "variant of a built-in", "variant of targets", "self"],
)
async def test_a_word_that_would_take_another_words_counts_is_refused(
    friends: Friends, word: str, variants: tuple[str, ...], says: str
) -> None:
    with pytest.raises(Conflict, match=says):
        await add(friends, word, variants=variants)


async def test_the_same_word_twice_or_a_clash_with_the_groups_words_is_refused(
    friends: Friends,
) -> None:
    await add(friends, "makan", variants=("makin",))

    with pytest.raises(Conflict, match="already tracks 'makan'") as twice:
        await add(friends, "Makan", caller=friends.member)
    assert "Delete it first" in twice.value.hint
    with pytest.raises(Conflict, match="'makin' is already counted as 'makan'"):
        await add(friends, "chope", variants=("makin",))
    with pytest.raises(Conflict, match="already counted as 'makan'"):
        await add(friends, "makin")


async def test_a_group_has_a_limit_of_its_own_words(friends: Friends) -> None:
    for n in range(MAX_GROUP_WORDS):
        await add(friends, "word" + "".join(chr(ord("a") + int(d)) for d in f"{n:02d}"))

    with pytest.raises(Conflict, match=f"already tracks {MAX_GROUP_WORDS} words"):
        await add(friends, "onemore")


async def test_any_member_removes_a_word_but_no_one_removes_a_built_in(friends: Friends) -> None:
    await add(friends, "makan", caller=friends.owner)

    await delete(friends, " MAKAN", caller=friends.member, group_id=friends.kopi)

    assert [w.word for w in await listed(friends, friends.kopi, friends.owner)] == BUILTIN
    with pytest.raises(NotFound, match="does not track 'makan'"):
        await delete(friends, "makan", caller=friends.owner, group_id=friends.kopi)
    with pytest.raises(Conflict, match="built-in words cannot be removed"):
        await delete(friends, "lah", caller=friends.owner, group_id=friends.kopi)
    assert (await add(friends, "makan")).word == "makan"  # and it can come back
