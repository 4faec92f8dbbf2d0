"""Recounting a group's past sessions on a real database (SQLite and PostgreSQL): counts,
transcript and claimed counts follow the group's words; speakers, ids and claims stay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lahstats.errors import NotFound
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import Analysis
from lahstats.sessions.results import new_segments, new_speakers, recognition_json
from lahstats.speakers.claims import ClaimService
from lahstats.storage.database import Database
from lahstats.storage.models import ClaimType, SessionStatus, WordCount
from lahstats.storage.repositories import (
    RecognitionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from lahstats.words.custom import CustomWordService
from lahstats.words.recount import RecountService
from lahstats.words.schemas import RecountOut
from tests.pipeline.heard import HEARD, MAKAN, TURNS
from tests.speakers.recordings import group, person, recording

BEFORE = {"SPEAKER_00": {"lah": 1, "walao": 1}, "SPEAKER_01": {"can": 1, "lor": 1}}
STARTED = datetime(2026, 3, 14, 19, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Hangout:
    db: Database
    ana: uuid.UUID
    ben: uuid.UUID
    group_id: uuid.UUID
    session_id: uuid.UUID
    speakers: dict[str, uuid.UUID]


async def processed(db: Database, group_id: uuid.UUID, started_by: uuid.UUID) -> uuid.UUID:
    """A session saved as the job saves it, recognition included, with the built-in words."""
    found = recount(HEARD, TURNS, load_lexicon())
    analysis = Analysis(
        duration=13.0,
        turns=TURNS,
        words=found.words,
        segments=found.segments,
        counts=found.counts,
        heard=HEARD,
    )
    speakers = {row.label: dict(row.word_counts) for row in new_speakers(analysis, {})}
    assert speakers == BEFORE
    session_id, ids = await recording(
        db, group_id=group_id, started_by=started_by, speakers=speakers, started_at=STARTED
    )
    heard, turns = recognition_json(analysis)
    async with db.session() as s:
        await TranscriptRepository(s).replace_for_session(session_id, new_segments(analysis), ids)
        await RecognitionRepository(s).replace(session_id, heard=heard, turns=turns)
    return session_id


@pytest.fixture
async def hangout(database: Database) -> Hangout:
    ana = await person(database, "ana@example.com")
    ben = await person(database, "ben@example.com")
    group_id = await group(database, ana, ben)
    session_id = await processed(database, group_id, ana)
    async with database.session() as s:
        speakers = {
            row.speaker_label: row.id
            for row in await SpeakerRepository(s).list_for_session(session_id)
        }
        # Ben is SPEAKER_01; SPEAKER_00 stays unclaimed.
        await ClaimService(s).claim(
            session_id=session_id,
            speaker_id=speakers["SPEAKER_01"],
            caller_id=ben,
            claim_type=ClaimType.SELF,
        )
    return Hangout(database, ana, ben, group_id, session_id, speakers)


async def recount_group(h: Hangout, caller: uuid.UUID | None = None) -> RecountOut:
    async with h.db.session() as s:
        return await RecountService(s).recount_group(h.group_id, caller or h.ana)


async def counts(h: Hangout) -> dict[str, dict[str, int]]:
    async with h.db.session() as s:
        found = await SpeakerRepository(s).word_counts(h.session_id)
    return {label: found.get(speaker, {}) for label, speaker in h.speakers.items()}


async def claimed(h: Hangout) -> list[tuple[uuid.UUID, str, int, uuid.UUID, datetime]]:
    async with h.db.session() as s:
        rows = (await s.execute(select(WordCount))).scalars().all()
    return sorted(
        (row.user_id, row.word, row.count, row.group_id, row.detected_at.astimezone(UTC))
        for row in rows
    )


async def add_makan(h: Hangout) -> None:
    async with h.db.session() as s:
        await CustomWordService(s).add(
            group_id=h.group_id,
            caller_id=h.ben,
            word=MAKAN.word,
            variants=MAKAN.variants,
            pronunciation=" ".join(MAKAN.pronunciations[0]),
        )


async def test_a_recount_counts_a_new_word_in_past_sessions(hangout: Hangout) -> None:
    h = hangout
    nothing_new = RecountOut(sessions_recounted=1, sessions_skipped=0, counts_changed=0)
    assert await recount_group(h) == nothing_new  # nothing new: nothing changes
    assert await counts(h) == BEFORE

    await add_makan(h)
    assert await counts(h) == BEFORE  # adding a word does not recount by itself
    summary = await recount_group(h, h.ben)

    assert summary == RecountOut(sessions_recounted=1, sessions_skipped=0, counts_changed=1)
    assert await counts(h) == {
        "SPEAKER_00": {"lah": 1, "walao": 1},
        "SPEAKER_01": {"can": 1, "lor": 1, "makan": 3},
    }
    # Ben's claimed counts follow, dated by the session's start, in the session's group.
    assert await claimed(h) == sorted(
        (h.ben, word, n, h.group_id, STARTED)
        for word, n in {"can": 1, "lor": 1, "makan": 3}.items()
    )
    async with h.db.session() as s:
        speakers = await SpeakerRepository(s).list_for_session(h.session_id)
        lines = await TranscriptRepository(s).list_for_session(h.session_id)
    assert {row.speaker_label: row.id for row in speakers} == h.speakers  # same rows, same ids
    ben = next(row for row in speakers if row.speaker_label == "SPEAKER_01")
    assert (ben.claim_type, ben.attributed_to_user_id) == (ClaimType.SELF, h.ben)
    assert all(line.speaker_id in h.speakers.values() for line in lines)
    said = " ".join(line.corrected_text for line in lines)
    heard = " ".join(line.raw_text for line in lines)
    assert said.count("makan") == 3
    assert "make an" in heard
    assert "mahkan" in heard

    assert (await recount_group(h)).counts_changed == 0  # a second recount changes nothing


async def test_deleting_a_word_takes_its_counts_away_at_the_next_recount(hangout: Hangout) -> None:
    h = hangout
    await add_makan(h)
    await recount_group(h)
    async with h.db.session() as s:
        await CustomWordService(s).delete(group_id=h.group_id, caller_id=h.ana, word="makan")
    assert (await counts(h))["SPEAKER_01"]["makan"] == 3  # until the recount

    summary = await recount_group(h)

    assert summary.counts_changed == 1
    assert await counts(h) == BEFORE
    assert {word for _, word, *_ in await claimed(h)} == {"can", "lor"}
    async with h.db.session() as s:
        lines = await TranscriptRepository(s).list_for_session(h.session_id)
    assert "makan" not in " ".join(line.corrected_text for line in lines)


async def test_sessions_without_a_recognition_are_skipped_and_others_left_alone(
    hangout: Hangout,
) -> None:
    h = hangout
    old, _ = await recording(
        h.db, group_id=h.group_id, started_by=h.ana, speakers={"SPEAKER_00": {"lah": 2}}
    )
    for status in (SessionStatus.RECORDING, SessionStatus.PROCESSING, SessionStatus.FAILED):
        await recording(h.db, group_id=h.group_id, started_by=h.ana, speakers={}, status=status)
    other_group = await group(h.db, h.ana, name="Other")
    elsewhere = await processed(h.db, other_group, h.ana)
    await add_makan(h)

    summary = await recount_group(h)

    assert summary == RecountOut(
        sessions_recounted=1, sessions_skipped=1, counts_changed=1, skipped_session_ids=[old]
    )
    async with h.db.session() as s:
        untouched = await SpeakerRepository(s).word_counts(old)
        other = await SpeakerRepository(s).word_counts(elsewhere)
    assert list(untouched.values()) == [{"lah": 2}]
    assert "makan" not in {word for found in other.values() for word in found}


async def test_only_members_recount(hangout: Hangout) -> None:
    stranger = await person(hangout.db, "stranger@example.com")

    with pytest.raises(NotFound):
        await recount_group(hangout, stranger)
