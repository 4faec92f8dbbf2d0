"""Claiming speakers on a real database (SQLite and PostgreSQL): who may claim what, for whom, when;
what the claim writes for Wrapped; unclaiming; and racing claims."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lahstats.errors import Conflict, Forbidden, InvalidInput, NotFound
from lahstats.speakers.claims import ClaimService
from lahstats.storage.database import Database
from lahstats.storage.models import ClaimType, SessionSpeaker, SessionStatus, WordCount
from lahstats.storage.repositories import SessionRepository, SpeakerRepository
from tests.speakers.recordings import group, person, recording

STARTED = datetime(2025, 3, 14, 19, 30, tzinfo=UTC)
COUNTS = {
    "SPEAKER_00": {"lah": 5, "walao": 2, "sia": 0},
    "SPEAKER_01": {"lah": 1, "lor": 3},
    "SPEAKER_02": {},
}


@dataclass(frozen=True)
class World:
    db: Database
    ah_boy: uuid.UUID  # started the session
    ah_girl: uuid.UUID
    uncle: uuid.UUID
    outsider: uuid.UUID  # in another group only
    group_id: uuid.UUID
    session_id: uuid.UUID
    speakers: dict[str, uuid.UUID]


@pytest.fixture
async def world(database: Database) -> World:
    ah_boy = await person(database, "ah.boy@example.com", name="Ah Boy")
    ah_girl = await person(database, "ah.girl@example.com")
    uncle = await person(database, "uncle@example.com", name="Uncle Lim")
    outsider = await person(database, "outsider@example.com")
    group_id = await group(database, ah_boy, ah_girl, uncle)
    await group(database, outsider, name="Elsewhere")
    session_id, speakers = await recording(
        database, group_id=group_id, started_by=ah_boy, speakers=COUNTS, started_at=STARTED
    )
    return World(database, ah_boy, ah_girl, uncle, outsider, group_id, session_id, speakers)


async def claim(
    w: World,
    label: str,
    caller: uuid.UUID,
    claim_type: ClaimType = ClaimType.SELF,
    *,
    session_id: uuid.UUID | None = None,
    speaker_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    guest_name: str | None = None,
) -> SessionSpeaker:
    async with w.db.session() as s:
        return await ClaimService(s).claim(
            session_id=session_id or w.session_id,
            speaker_id=speaker_id or w.speakers[label],
            caller_id=caller,
            claim_type=claim_type,
            user_id=user_id,
            guest_name=guest_name,
        )


async def unclaim(w: World, label: str, caller: uuid.UUID) -> None:
    async with w.db.session() as s:
        await ClaimService(s).unclaim(
            session_id=w.session_id, speaker_id=w.speakers[label], caller_id=caller
        )


async def rows(w: World) -> list[tuple[str, uuid.UUID, str, int]]:
    """(speaker label, user, word, count) of every word-count row, sorted."""
    labels = {speaker_id: label for label, speaker_id in w.speakers.items()}
    async with w.db.session() as s:
        result = await s.execute(select(WordCount))
        found = result.scalars().all()
    return sorted((labels[r.speaker_id], r.user_id, r.word, r.count) for r in found)


async def status(w: World) -> SessionStatus:
    async with w.db.session() as s:
        found = await SessionRepository(s).get(w.session_id)
        assert found is not None
        return found.status


async def speaker(w: World, label: str) -> SessionSpeaker:
    async with w.db.session() as s:
        found = await SpeakerRepository(s).get(w.session_id, w.speakers[label])
        assert found is not None
        return found


async def test_a_self_claim_attributes_the_counts_to_the_caller(world: World) -> None:
    claimed = await claim(world, "SPEAKER_00", world.ah_girl)

    assert claimed.claim_type is ClaimType.SELF
    assert claimed.claimed_by == claimed.attributed_to_user_id == world.ah_girl
    assert claimed.claimed_at is not None
    assert claimed.guest_name is None
    # Zero counts are not written; the rest are dated by when they were said.
    assert await rows(world) == [
        ("SPEAKER_00", world.ah_girl, "lah", 5),
        ("SPEAKER_00", world.ah_girl, "walao", 2),
    ]
    async with world.db.session() as s:
        written = (await s.execute(select(WordCount))).scalars().all()
    assert {(r.detected_at, r.group_id, r.session_id) for r in written} == {
        (STARTED, world.group_id, world.session_id)
    }
    assert await status(world) is SessionStatus.READY_FOR_CLAIMING


async def test_one_person_may_claim_two_speakers_and_their_counts_add_up(world: World) -> None:
    await claim(world, "SPEAKER_00", world.ah_girl)
    await claim(world, "SPEAKER_01", world.ah_girl)

    totals: dict[str, int] = {}
    for _, user, word, count in await rows(world):
        assert user == world.ah_girl
        totals[word] = totals.get(word, 0) + count
    assert totals == {"lah": 6, "walao": 2, "lor": 3}


async def test_a_user_claim_attributes_to_that_member(world: World) -> None:
    claimed = await claim(world, "SPEAKER_01", world.ah_boy, ClaimType.USER, user_id=world.uncle)

    assert claimed.claimed_by == world.ah_boy
    assert claimed.attributed_to_user_id == world.uncle
    assert await rows(world) == [
        ("SPEAKER_01", world.uncle, "lah", 1),
        ("SPEAKER_01", world.uncle, "lor", 3),
    ]


async def test_a_user_claim_for_someone_outside_the_group_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="not a member of this group"):
        await claim(world, "SPEAKER_01", world.ah_boy, ClaimType.USER, user_id=world.outsider)
    with pytest.raises(InvalidInput, match="not a member of this group"):
        await claim(world, "SPEAKER_01", world.ah_boy, ClaimType.USER, user_id=uuid.uuid4())

    assert (await speaker(world, "SPEAKER_01")).claim_type is None
    assert await rows(world) == []


async def test_a_guest_claim_keeps_a_trimmed_name_and_writes_no_counts(world: World) -> None:
    claimed = await claim(
        world, "SPEAKER_00", world.ah_girl, ClaimType.GUEST, guest_name="  Auntie Mei \n"
    )

    assert claimed.claim_type is ClaimType.GUEST
    assert claimed.guest_name == "Auntie Mei"
    assert claimed.attributed_to_user_id is None
    assert claimed.claimed_by == world.ah_girl
    assert await rows(world) == []


@pytest.mark.parametrize(
    "name", [None, "", "   ", "x" * 101], ids=["none", "empty", "blank", "101"]
)
async def test_a_guest_claim_needs_a_name_of_1_to_100_characters(
    world: World, name: str | None
) -> None:
    with pytest.raises(InvalidInput, match="guest_name of 1 to 100"):
        await claim(world, "SPEAKER_00", world.ah_girl, ClaimType.GUEST, guest_name=name)
    claimed = await claim(world, "SPEAKER_00", world.ah_girl, ClaimType.GUEST, guest_name="x" * 100)
    assert claimed.guest_name == "x" * 100


@pytest.mark.parametrize(
    ("claim_type", "with_user", "guest_name", "complaint"),
    [
        (ClaimType.SELF, True, None, "self claim takes no user_id"),
        (ClaimType.GUEST, True, "Auntie", "guest claim takes no user_id"),
        (ClaimType.SELF, False, "Auntie", "self claim takes no guest_name"),
        (ClaimType.USER, True, "Auntie", "user claim takes no guest_name"),
        (ClaimType.USER, False, None, "user claim needs user_id"),
    ],
    ids=["self+user_id", "guest+user_id", "self+guest_name", "user+guest_name", "user-no-id"],
)
async def test_fields_that_do_not_fit_the_claim_type_are_refused(
    world: World, claim_type: ClaimType, with_user: bool, guest_name: str | None, complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        await claim(
            world,
            "SPEAKER_00",
            world.ah_girl,
            claim_type,
            user_id=world.uncle if with_user else None,
            guest_name=guest_name,
        )
    assert (await speaker(world, "SPEAKER_00")).claim_type is None


async def test_claim_type_may_arrive_as_its_string_value(world: World) -> None:
    claimed = await claim(world, "SPEAKER_00", world.ah_girl, "self")  # type: ignore[arg-type]
    assert claimed.claim_type is ClaimType.SELF


async def test_outsiders_and_unknown_sessions_get_the_same_not_found(world: World) -> None:
    with pytest.raises(NotFound) as outsider:
        await claim(world, "SPEAKER_00", world.outsider)
    with pytest.raises(NotFound) as missing:
        await claim(world, "SPEAKER_00", world.ah_girl, session_id=uuid.uuid4())
    assert "session" in outsider.value.message
    assert "session" in missing.value.message
    with pytest.raises(NotFound):
        await unclaim(world, "SPEAKER_00", world.outsider)
    assert (await speaker(world, "SPEAKER_00")).claim_type is None


async def test_a_speaker_of_another_session_is_not_found(world: World) -> None:
    _, other = await recording(
        world.db, group_id=world.group_id, started_by=world.ah_boy, speakers={"SPEAKER_00": {}}
    )
    with pytest.raises(NotFound, match="not a speaker of session"):
        await claim(world, "SPEAKER_00", world.ah_girl, speaker_id=other["SPEAKER_00"])
    with pytest.raises(NotFound, match="not a speaker of session"):
        await claim(world, "SPEAKER_00", world.ah_girl, speaker_id=uuid.uuid4())


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (SessionStatus.RECORDING, "still recording"),
        (SessionStatus.PROCESSING, "still being processed"),
        (SessionStatus.FAILED, "failed to process"),
    ],
    ids=["recording", "processing", "failed"],
)
async def test_speakers_are_claimable_only_once_processed(
    world: World, state: SessionStatus, reason: str
) -> None:
    session_id, ids = await recording(
        world.db,
        group_id=world.group_id,
        started_by=world.ah_boy,
        speakers={"SPEAKER_00": {"lah": 1}},
        status=state,
    )
    with pytest.raises(Conflict, match=reason):
        await claim(world, "", world.ah_girl, session_id=session_id, speaker_id=ids["SPEAKER_00"])


async def test_an_already_claimed_speaker_is_a_conflict_naming_the_claim(world: World) -> None:
    await claim(world, "SPEAKER_00", world.ah_boy)  # "Ah Boy"
    await claim(world, "SPEAKER_01", world.ah_girl)  # no display name: email's local part
    await claim(world, "SPEAKER_02", world.uncle, ClaimType.GUEST, guest_name="Auntie Mei")
    before = await rows(world)

    with pytest.raises(Conflict, match=r"claimed by Ah Boy; unclaim it first"):
        await claim(world, "SPEAKER_00", world.uncle)
    with pytest.raises(Conflict, match=r"claimed by ah\.girl;"):
        await claim(world, "SPEAKER_01", world.uncle, ClaimType.USER, user_id=world.uncle)
    with pytest.raises(Conflict, match=r"claimed by guest 'Auntie Mei';"):
        await claim(world, "SPEAKER_02", world.uncle)
    with pytest.raises(Conflict, match=r"claimed by you;"):
        await claim(world, "SPEAKER_00", world.ah_boy)
    assert await rows(world) == before
    assert (await speaker(world, "SPEAKER_00")).claimed_by == world.ah_boy


async def test_the_session_completes_when_no_speaker_is_left_unclaimed(world: World) -> None:
    await claim(world, "SPEAKER_00", world.ah_girl)
    await claim(world, "SPEAKER_01", world.ah_boy, ClaimType.USER, user_id=world.uncle)
    assert await status(world) is SessionStatus.READY_FOR_CLAIMING

    await claim(world, "SPEAKER_02", world.uncle, ClaimType.GUEST, guest_name="Auntie Mei")
    assert await status(world) is SessionStatus.COMPLETED
    # A completed session is claimable: a second claim is refused as a claim, not by status.
    with pytest.raises(Conflict, match="already claimed"):
        await claim(world, "SPEAKER_02", world.uncle)


async def test_unclaiming_removes_exactly_that_speakers_counts_and_reopens(world: World) -> None:
    await claim(world, "SPEAKER_00", world.ah_girl)
    await claim(world, "SPEAKER_01", world.ah_girl)
    await claim(world, "SPEAKER_02", world.ah_girl)
    assert await status(world) is SessionStatus.COMPLETED

    await unclaim(world, "SPEAKER_00", world.ah_girl)

    assert await rows(world) == [
        ("SPEAKER_01", world.ah_girl, "lah", 1),
        ("SPEAKER_01", world.ah_girl, "lor", 3),
    ]
    freed = await speaker(world, "SPEAKER_00")
    assert (freed.claim_type, freed.claimed_by, freed.attributed_to_user_id) == (None, None, None)
    assert freed.claimed_at is None
    assert await status(world) is SessionStatus.READY_FOR_CLAIMING

    # Freed, it can be claimed again, by anyone.
    await claim(world, "SPEAKER_00", world.uncle)
    assert ("SPEAKER_00", world.uncle, "lah", 5) in await rows(world)
    assert await status(world) is SessionStatus.COMPLETED


async def test_the_session_starter_may_unclaim_anyones_claim(world: World) -> None:
    await claim(world, "SPEAKER_01", world.uncle, ClaimType.GUEST, guest_name="Auntie Mei")
    await claim(world, "SPEAKER_00", world.ah_girl)
    await unclaim(world, "SPEAKER_00", world.ah_boy)
    await unclaim(world, "SPEAKER_01", world.ah_boy)
    assert await rows(world) == []
    assert (await speaker(world, "SPEAKER_01")).guest_name is None


async def test_other_members_may_not_unclaim(world: World) -> None:
    # Claimed by Ah Boy for Uncle: a bystander may not undo it.
    await claim(world, "SPEAKER_00", world.ah_boy, ClaimType.USER, user_id=world.uncle)
    with pytest.raises(Forbidden, match="only whoever claimed"):
        await unclaim(world, "SPEAKER_00", world.ah_girl)
    assert (await speaker(world, "SPEAKER_00")).attributed_to_user_id == world.uncle
    assert len(await rows(world)) == 2


async def test_the_member_a_voice_was_given_to_may_refuse_it(world: World) -> None:
    # Claimed by Ah Boy for Uncle (or matched by voice): Uncle can say it was not him.
    await claim(world, "SPEAKER_00", world.ah_boy, ClaimType.USER, user_id=world.uncle)
    await unclaim(world, "SPEAKER_00", world.uncle)
    assert (await speaker(world, "SPEAKER_00")).claim_type is None
    assert await rows(world) == []


async def test_unclaiming_an_unclaimed_speaker_is_a_conflict(world: World) -> None:
    with pytest.raises(Conflict, match="not claimed"):
        await unclaim(world, "SPEAKER_00", world.ah_boy)


async def test_of_two_racing_claims_of_one_speaker_exactly_one_wins(world: World) -> None:
    results = await asyncio.gather(
        claim(world, "SPEAKER_00", world.ah_girl),
        claim(world, "SPEAKER_00", world.uncle),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, SessionSpeaker)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], Conflict), repr(losers[0])
    winner = winners[0].attributed_to_user_id
    assert (await speaker(world, "SPEAKER_00")).claimed_by == winner
    assert {user for _, user, _, _ in await rows(world)} == {winner}


async def test_racing_claims_of_the_last_speakers_still_complete_the_session(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await claim(world, "SPEAKER_02", world.uncle)
    # Hold each claim just before it counts what is left, until the other one gets there too (or
    # half a second passes): unserialised, each would see the other's speaker still unclaimed.
    both_there = asyncio.Event()
    arrived = 0
    count_unclaimed = SpeakerRepository.count_unclaimed

    async def rendezvous(repository: SpeakerRepository, session_id: uuid.UUID) -> int:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_there.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_there.wait(), 0.5)
        return await count_unclaimed(repository, session_id)

    monkeypatch.setattr(SpeakerRepository, "count_unclaimed", rendezvous)
    await asyncio.gather(
        claim(world, "SPEAKER_00", world.ah_girl), claim(world, "SPEAKER_01", world.ah_boy)
    )
    assert arrived == 2
    assert await status(world) is SessionStatus.COMPLETED
