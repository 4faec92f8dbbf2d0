"""Voiceprints and suggestions on a real database (SQLite and PostgreSQL): kept up to date by
claims and unclaims, compared only with the group's members, and auto-claimed on request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pytest

from lahstats.settings import Settings
from lahstats.speakers.autoclaim import claim_matching_voices
from lahstats.speakers.claims import ClaimService
from lahstats.speakers.matching import Suggestion, unit
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.database import Database
from lahstats.storage.models import ClaimType, Group, SessionStatus
from lahstats.storage.repositories import SessionRepository, SpeakerRepository
from lahstats.storage.repositories.voices import VoiceRepository
from tests.speakers.recordings import group, person, recording

RNG = np.random.default_rng(11)
ANA_VOICE = unit(RNG.normal(size=32))
BEN_VOICE = unit(RNG.normal(size=32))
EVE_VOICE = unit(RNG.normal(size=32))
SETTINGS = Settings(voice_match_threshold=0.6, voice_match_scale=0.1)


def like(voice: np.ndarray, noise: float = 0.02) -> list[float]:
    return unit(voice + RNG.normal(0, noise, voice.shape)).tolist()


@dataclass(frozen=True)
class Friends:
    db: Database
    ana: uuid.UUID
    ben: uuid.UUID
    eve: uuid.UUID  # in another group
    group_id: uuid.UUID


@pytest.fixture
async def friends(database: Database) -> Friends:
    ana = await person(database, "ana@example.com", name="Ana")
    ben = await person(database, "ben@example.com", name="Ben")
    eve = await person(database, "eve@example.com", name="Eve")
    group_id = await group(database, ana, ben)
    await group(database, eve, name="Elsewhere")
    return Friends(database, ana, ben, eve, group_id)


async def hangout(
    f: Friends, voices: dict[str, list[float]], *, group_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    return await recording(
        f.db,
        group_id=group_id or f.group_id,
        started_by=f.ana if group_id is None else f.eve,
        speakers={label: {"lah": 1} for label in voices},
        voices=voices,
    )


async def claim(f: Friends, session_id: uuid.UUID, speaker_id: uuid.UUID, user: uuid.UUID) -> None:
    async with f.db.session() as s:
        await ClaimService(s).claim(
            session_id=session_id, speaker_id=speaker_id, caller_id=user, claim_type=ClaimType.SELF
        )


async def suggestions(f: Friends, session_id: uuid.UUID) -> dict[uuid.UUID, Suggestion]:
    async with f.db.session() as s:
        found = await SessionRepository(s).get(session_id)
        assert found is not None
        speakers = await SpeakerRepository(s).list_for_session(session_id)
        return await VoiceprintService(s).suggestions(found, speakers, SETTINGS)


async def print_counts(f: Friends) -> dict[uuid.UUID, int]:
    async with f.db.session() as s:
        prints = await VoiceRepository(s).voiceprints([f.ana, f.ben, f.eve])
        return {p.user_id: p.source_count for p in prints}


async def test_a_claim_makes_a_voiceprint_that_the_next_session_suggests(friends: Friends) -> None:
    first, speakers = await hangout(friends, {"S0": like(ANA_VOICE), "S1": like(BEN_VOICE)})
    await claim(friends, first, speakers["S0"], friends.ana)
    assert await print_counts(friends) == {friends.ana: 1}

    second, speakers = await hangout(
        friends, {"S0": like(BEN_VOICE), "S1": like(ANA_VOICE), "S2": like(EVE_VOICE)}
    )
    found = await suggestions(friends, second)
    assert {speaker: s.user_id for speaker, s in found.items()} == {speakers["S1"]: friends.ana}
    assert found[speakers["S1"]].confidence > 0.9

    # Ana's second claim adds to her print; a member with a speaker already is not suggested.
    await claim(friends, second, speakers["S1"], friends.ana)
    assert await print_counts(friends) == {friends.ana: 2}
    assert await suggestions(friends, second) == {}


async def test_unclaiming_takes_the_voice_out_of_the_voiceprint(friends: Friends) -> None:
    first, speakers = await hangout(friends, {"S0": like(ANA_VOICE)})
    await claim(friends, first, speakers["S0"], friends.ana)
    async with friends.db.session() as s:
        await ClaimService(s).unclaim(
            session_id=first, speaker_id=speakers["S0"], caller_id=friends.ana
        )
    assert await print_counts(friends) == {}
    second, _ = await hangout(friends, {"S0": like(ANA_VOICE)})
    assert await suggestions(friends, second) == {}


async def test_voices_of_people_outside_the_group_are_never_suggested(friends: Friends) -> None:
    elsewhere = await group(friends.db, friends.eve, name="Eve's")
    session_id, speakers = await hangout(friends, {"S0": like(EVE_VOICE)}, group_id=elsewhere)
    await claim(friends, session_id, speakers["S0"], friends.eve)
    ours, _ = await hangout(friends, {"S0": like(EVE_VOICE)})
    assert await suggestions(friends, ours) == {}


async def test_voices_from_another_model_are_not_compared(friends: Friends) -> None:
    first, speakers = await hangout(friends, {"S0": like(ANA_VOICE)})
    await claim(friends, first, speakers["S0"], friends.ana)
    other_model, _ = await recording(
        friends.db,
        group_id=friends.group_id,
        started_by=friends.ana,
        speakers={"S0": {}},
        voices={"S0": like(ANA_VOICE)},
        voice_model="another-encoder",
    )
    assert await suggestions(friends, other_model) == {}


@pytest.mark.parametrize("turned_on", [True, False], ids=["auto-claim on", "auto-claim off"])
async def test_groups_that_opt_in_get_confident_matches_claimed(
    friends: Friends, turned_on: bool
) -> None:
    first, speakers = await hangout(friends, {"S0": like(ANA_VOICE), "S1": like(BEN_VOICE)})
    await claim(friends, first, speakers["S0"], friends.ana)
    await claim(friends, first, speakers["S1"], friends.ben)
    async with friends.db.session() as s:
        found = await s.get(Group, friends.group_id)
        assert found is not None
        found.auto_claim_voices = turned_on
    second, speakers = await hangout(
        friends, {"S0": like(ANA_VOICE), "S1": like(BEN_VOICE, noise=0.3)}
    )
    async with friends.db.session() as s:
        made = await claim_matching_voices(s, second, SETTINGS)
    async with friends.db.session() as s:
        rows = {sp.speaker_label: sp for sp in await SpeakerRepository(s).list_for_session(second)}
        recording_now = await SessionRepository(s).get(second)
    if not turned_on:
        assert made == []
        assert all(sp.claim_type is None for sp in rows.values())
        return
    # Ana's voice is a near copy: claimed. Ben's is too noisy to be sure: left for a tap.
    assert made == [(speakers["S0"], friends.ana)]
    assert rows["S0"].attributed_to_user_id == friends.ana
    assert rows["S0"].claimed_by is None
    assert rows["S1"].claim_type is None
    assert recording_now is not None
    assert recording_now.status == SessionStatus.READY_FOR_CLAIMING
    # Ana may refuse what the service claimed for her.
    async with friends.db.session() as s:
        await ClaimService(s).unclaim(
            session_id=second, speaker_id=speakers["S0"], caller_id=friends.ana
        )
