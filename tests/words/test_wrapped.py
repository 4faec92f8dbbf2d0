"""Wrapped and leaderboards on a real database (SQLite and PostgreSQL), from claims made through
the claim service: exactly the claimed counts, per UTC year, only of the user's own groups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete
from sqlmodel import col

from lahstats.errors import InvalidInput, NotFound
from lahstats.speakers.claims import ClaimService
from lahstats.storage.database import Database
from lahstats.storage.models import ClaimType, GroupMember
from lahstats.words.schemas import GroupWrappedOut, LeaderboardOut, WordCountOut, WrappedOut
from lahstats.words.wrapped import WrappedService
from tests.speakers.recordings import group, person, recording


@dataclass(frozen=True)
class World:
    db: Database
    ah_boy: uuid.UUID
    ah_girl: uuid.UUID
    uncle: uuid.UUID
    auntie: uuid.UUID  # a member who never spoke
    outsider: uuid.UUID
    kopi: uuid.UUID  # everyone but the outsider
    makan: uuid.UUID  # Ah Girl and the outsider


async def _session(
    w: World,
    group_id: uuid.UUID,
    started_at: datetime,
    duration_seconds: float,
    claims: Mapping[str, tuple[Mapping[str, int], uuid.UUID, ClaimType, uuid.UUID | str | None]],
) -> dict[str, uuid.UUID]:
    """A processed session whose speakers ``{label: (counts, caller, type, for)}`` get claimed."""
    session_id, ids = await recording(
        w.db,
        group_id=group_id,
        started_by=claims[min(claims)][1],
        speakers={label: counts for label, (counts, *_) in claims.items()},
        started_at=started_at,
        duration_seconds=duration_seconds,
    )
    for label, (_, caller, claim_type, target) in claims.items():
        async with w.db.session() as s:
            await ClaimService(s).claim(
                session_id=session_id,
                speaker_id=ids[label],
                caller_id=caller,
                claim_type=claim_type,
                user_id=target if isinstance(target, uuid.UUID) else None,
                guest_name=target if isinstance(target, str) else None,
            )
    return ids


SELF, USER, GUEST = ClaimType.SELF, ClaimType.USER, ClaimType.GUEST


@pytest.fixture
async def world(database: Database) -> World:
    ah_boy = await person(database, "ah.boy@example.com", name="Ah Boy")
    ah_girl = await person(database, "ah.girl@example.com")
    uncle = await person(database, "uncle@example.com", name="Uncle Lim")
    auntie = await person(database, "auntie@example.com")
    outsider = await person(database, "outsider@example.com")
    kopi = await group(database, ah_boy, ah_girl, uncle, auntie, name="Kopi")
    makan = await group(database, ah_girl, outsider, name="Makan")
    w = World(database, ah_boy, ah_girl, uncle, auntie, outsider, kopi, makan)

    await _session(
        w,
        kopi,
        datetime(2025, 3, 14, 19, 30, tzinfo=UTC),
        90,
        {
            "SPEAKER_00": ({"lah": 5, "walao": 2}, ah_girl, SELF, None),
            "SPEAKER_01": ({"lah": 1, "lor": 3}, ah_girl, SELF, None),  # her voice, split in two
            "SPEAKER_02": ({"lah": 4, "sia": 1}, ah_boy, SELF, None),
        },
    )
    await _session(
        w,
        kopi,
        datetime(2025, 7, 1, 8, 0, tzinfo=UTC),
        150,
        {
            "SPEAKER_00": ({"walao": 6}, ah_girl, SELF, None),
            "SPEAKER_01": ({"lah": 3, "sia": 2}, ah_boy, USER, uncle),
        },
    )
    await _session(
        w,
        makan,
        datetime(2025, 7, 20, 12, 0, tzinfo=UTC),
        60,
        {
            "SPEAKER_00": ({"sia": 2, "lah": 1}, ah_girl, SELF, None),
            "SPEAKER_01": ({"lah": 9}, outsider, SELF, None),
        },
    )
    # Claimed for her by someone else, and without a single target word: still her session.
    await _session(
        w,
        kopi,
        datetime(2025, 9, 9, 21, 0, tzinfo=UTC),
        125,
        {
            "SPEAKER_00": ({}, ah_boy, USER, ah_girl),
            "SPEAKER_01": ({"lah": 7}, ah_girl, GUEST, "Auntie Mei"),
        },
    )
    # She only named a guest here: not her words, not her session.
    await _session(
        w,
        kopi,
        datetime(2025, 10, 10, 10, 0, tzinfo=UTC),
        600,
        {
            "SPEAKER_00": ({"lah": 3}, ah_girl, GUEST, "Uncle Lim's friend"),
        },
    )
    # A second either side of 2025 in UTC.
    await _session(
        w,
        kopi,
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        30,
        {
            "SPEAKER_00": ({"lah": 100}, ah_girl, SELF, None),
        },
    )
    await _session(
        w,
        kopi,
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        30,
        {
            "SPEAKER_00": ({"lah": 50}, ah_girl, SELF, None),
        },
    )
    return w


async def wrapped(w: World, user_id: uuid.UUID, year: int = 2025) -> WrappedOut:
    async with w.db.session() as s:
        return await WrappedService(s).wrapped(user_id, year)


def top(found: WrappedOut) -> list[tuple[str, int]]:
    """The top words as (word, count), most said first."""
    return [(entry.word, entry.count) for entry in found.top_words]


async def leaderboard(
    w: World,
    viewer: uuid.UUID,
    *,
    year: int = 2025,
    word: str | None = None,
    group_id: uuid.UUID | None = None,
) -> LeaderboardOut:
    async with w.db.session() as s:
        return await WrappedService(s).leaderboard(
            group_id or w.kopi, year, word=word, viewer_id=viewer
        )


async def test_wrapped_is_exactly_the_claimed_counts_of_the_year(world: World) -> None:
    assert await wrapped(world, world.ah_girl) == WrappedOut(
        year=2025,
        total_words=20,
        top_words=[
            WordCountOut(word="walao", count=8),
            WordCountOut(word="lah", count=7),
            WordCountOut(word="lor", count=3),
            WordCountOut(word="sia", count=2),
        ],
        favorite_word="walao",
        sessions=4,
        minutes_recorded=7.1,  # (90 + 150 + 60 + 125) s
        by_month={"2025-03": 11, "2025-07": 9},
        by_group={
            str(world.kopi): GroupWrappedOut(name="Kopi", total_words=17, favorite_word="walao"),
            str(world.makan): GroupWrappedOut(name="Makan", total_words=3, favorite_word="sia"),
        },
    )


async def test_years_are_cut_at_midnight_utc(world: World) -> None:
    before, after = (
        await wrapped(world, world.ah_girl, 2024),
        await wrapped(world, world.ah_girl, 2026),
    )
    assert (before.total_words, top(before), before.by_month) == (
        100,
        [("lah", 100)],
        {"2024-12": 100},
    )
    assert (after.total_words, after.by_month, after.sessions) == (50, {"2026-01": 50}, 1)
    assert before.minutes_recorded == after.minutes_recorded == 0.5


async def test_a_quiet_year_is_empty(world: World) -> None:
    assert await wrapped(world, world.ah_girl, 2023) == WrappedOut(
        year=2023,
        total_words=0,
        top_words=[],
        favorite_word=None,
        sessions=0,
        minutes_recorded=0.0,
        by_month={},
        by_group={},
    )


async def test_each_user_sees_only_their_own_claims(world: World) -> None:
    boy = await wrapped(world, world.ah_boy)
    assert (boy.total_words, top(boy), boy.sessions) == (5, [("lah", 4), ("sia", 1)], 1)
    # Claiming for Uncle made them Uncle's words, not Ah Boy's.
    uncle = await wrapped(world, world.uncle)
    assert (uncle.total_words, uncle.favorite_word, uncle.sessions) == (5, "lah", 1)
    assert set(uncle.by_group) == {str(world.kopi)}
    outsider = await wrapped(world, world.outsider)
    assert (outsider.total_words, set(outsider.by_group)) == (9, {str(world.makan)})
    silent = await wrapped(world, world.auntie)
    assert (silent.total_words, silent.sessions, silent.by_group) == (0, 0, {})


async def test_a_group_the_user_left_drops_out_of_wrapped(world: World) -> None:
    async with world.db.session() as s:
        await s.execute(
            delete(GroupMember).where(
                col(GroupMember.group_id) == world.makan, col(GroupMember.user_id) == world.ah_girl
            )
        )
    left = await wrapped(world, world.ah_girl)
    assert (left.total_words, left.sessions, set(left.by_group)) == (17, 3, {str(world.kopi)})
    assert left.by_month == {"2025-03": 11, "2025-07": 6}
    assert ("sia", 2) not in top(left)


async def test_unclaiming_takes_the_words_back_out(world: World) -> None:
    session_id, ids = await recording(
        world.db,
        group_id=world.kopi,
        started_by=world.ah_boy,
        speakers={"SPEAKER_00": {"shiok": 4}},
        started_at=datetime(2025, 11, 1, tzinfo=UTC),
    )
    target = {"session_id": session_id, "speaker_id": ids["SPEAKER_00"]}
    async with world.db.session() as s:
        await ClaimService(s).claim(**target, caller_id=world.ah_boy, claim_type=SELF)
    assert (await wrapped(world, world.ah_boy)).total_words == 9
    async with world.db.session() as s:
        await ClaimService(s).unclaim(**target, caller_id=world.ah_boy)
    after = await wrapped(world, world.ah_boy)
    assert (after.total_words, after.sessions, after.by_month) == (5, 1, {"2025-03": 5})


def _table(board: LeaderboardOut) -> list[tuple[int, str, int, str | None]]:
    return [(e.rank, e.display_name, e.count, e.favorite_word) for e in board.entries]


async def test_the_leaderboard_ranks_every_member_and_ties_share_a_rank(world: World) -> None:
    board = await leaderboard(world, world.auntie)
    assert (board.group_id, board.year, board.word) == (world.kopi, 2025, None)
    assert _table(board) == [
        (1, "ah.girl", 17, "walao"),
        (2, "Ah Boy", 5, "lah"),
        (2, "Uncle Lim", 5, "lah"),
        (4, "auntie", 0, None),
    ]
    assert [e.user_id for e in board.entries] == [
        world.ah_girl,
        world.ah_boy,
        world.uncle,
        world.auntie,
    ]


async def test_the_leaderboard_can_rank_by_one_word(world: World) -> None:
    sia = await leaderboard(world, world.ah_boy, word="sia")
    # Ah Girl's "sia" was said in another group; favourites stay those of all words.
    assert sia.word == "sia"
    assert _table(sia) == [
        (1, "Uncle Lim", 2, "lah"),
        (2, "Ah Boy", 1, "lah"),
        (3, "ah.girl", 0, "walao"),
        (3, "auntie", 0, None),
    ]
    lah = await leaderboard(world, world.ah_boy, word=" LAH ")
    assert lah.word == "lah"
    assert [(e.display_name, e.count) for e in lah.entries] == [
        ("ah.girl", 6),
        ("Ah Boy", 4),
        ("Uncle Lim", 3),
        ("auntie", 0),
    ]


async def test_the_leaderboard_counts_one_year(world: World) -> None:
    board = await leaderboard(world, world.ah_boy, year=2024)
    assert _table(board) == [
        (1, "ah.girl", 100, "lah"),
        (2, "Ah Boy", 0, None),
        (2, "auntie", 0, None),
        (2, "Uncle Lim", 0, None),
    ]


async def test_only_members_see_a_leaderboard(world: World) -> None:
    with pytest.raises(NotFound):
        await leaderboard(world, world.outsider)
    with pytest.raises(NotFound):
        await leaderboard(world, world.ah_boy, group_id=uuid.uuid4())
    makan = await leaderboard(world, world.outsider, group_id=world.makan)
    assert [(e.display_name, e.count) for e in makan.entries] == [("outsider", 9), ("ah.girl", 3)]


@pytest.mark.parametrize("word", ["makan", "", "lah!", "walao lah"])
async def test_only_counted_words_can_be_ranked(world: World, word: str) -> None:
    with pytest.raises(InvalidInput, match="not one of the words") as refused:
        await leaderboard(world, world.ah_boy, word=word)
    assert "walao" in refused.value.hint
    assert "bojio" in refused.value.hint


@pytest.mark.parametrize("year", [1969, 9999, -1])
async def test_years_out_of_range_are_refused(world: World, year: int) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        await wrapped(world, world.ah_girl, year)
    with pytest.raises(InvalidInput, match="out of range"):
        await leaderboard(world, world.ah_girl, year=year)
