"""Repositories on a real database, SQLite and PostgreSQL alike (the ``database`` fixture)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from lahstats.storage.database import Database
from lahstats.storage.models import ClaimType, MemberRole, SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    GroupRepository,
    NewSegment,
    NewSpeaker,
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
    WordCountRepository,
)

SHA = "a" * 64


async def _add_chunk(chunks: ChunkRepository, session_id: uuid.UUID, n: int, *, key: str) -> None:
    await chunks.add(
        session_id=session_id,
        chunk_number=n,
        storage_key=key,
        content_type="audio/wav",
        size_bytes=10,
        sha256=SHA,
    )


async def _user(db: Database, email: str) -> uuid.UUID:
    async with db.session() as s:
        return (await ProfileRepository(s).ensure(uuid.uuid4(), email=email)).id


async def _group_session(db: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    owner = await _user(db, f"{uuid.uuid4().hex[:6]}@example.com")
    async with db.session() as s:
        group = await GroupRepository(s).create(
            name="Makan", invite_code=uuid.uuid4().hex[:8], owner_id=owner
        )
        recording = await SessionRepository(s).create(group_id=group.id, started_by=owner)
        return owner, group.id, recording.id


async def test_profile_is_created_once_and_follows_email_changes(database: Database) -> None:
    user_id = uuid.uuid4()
    async with database.session() as s:
        first = await ProfileRepository(s).ensure(user_id, email="ah.boy@example.com")
        assert first.created_at.tzinfo is not None
    async with database.session() as s:
        again = await ProfileRepository(s).ensure(
            user_id, email="ah.girl@example.com", display_name="Ah Girl"
        )
    assert again.id == user_id
    assert again.email == "ah.girl@example.com"
    assert again.display_name == "Ah Girl"


async def test_email_is_unique_across_profiles(database: Database) -> None:
    await _user(database, "same@example.com")
    with pytest.raises(IntegrityError):
        await _user(database, "same@example.com")


async def test_groups_are_visible_to_members_only(database: Database) -> None:
    owner = await _user(database, "owner@example.com")
    friend = await _user(database, "friend@example.com")
    stranger = await _user(database, "stranger@example.com")
    async with database.session() as s:
        groups = GroupRepository(s)
        group = await groups.create(name="Kopi kakis", invite_code="KOPI1234", owner_id=owner)
        assert (await groups.get_by_invite_code("KOPI1234")).id == group.id  # type: ignore[union-attr]
        await groups.add_member(group.id, friend)
        await groups.add_member(group.id, friend)  # joining twice is harmless
    async with database.session() as s:
        groups = GroupRepository(s)
        members = await groups.members(group.id)
        assert [(m.role, p.email) for m, p in members] == [
            (MemberRole.OWNER, "owner@example.com"),
            (MemberRole.MEMBER, "friend@example.com"),
        ]
        assert await groups.get_for_member(group.id, friend) is not None
        assert await groups.get_for_member(group.id, stranger) is None
        assert [g.id for g in await groups.list_for_user(stranger)] == []
        assert [g.id for g in await groups.list_for_user(friend)] == [group.id]


async def test_session_status_changes_only_from_the_expected_state(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        end = {"from_statuses": [SessionStatus.RECORDING], "to_status": SessionStatus.PROCESSING}
        assert await sessions.transition(session_id, **end, ended_at=datetime.now(UTC))
        assert not await sessions.transition(session_id, **end)  # ending twice: one winner
        assert await sessions.record_progress(session_id, stage="diarize", progress=25)
        recording = await sessions.get(session_id)
        assert recording is not None
        assert (recording.status, recording.stage, recording.progress) == (
            SessionStatus.PROCESSING,
            "diarize",
            25,
        )
        assert recording.ended_at is not None
        assert recording.heartbeat_at is not None


async def test_progress_outside_0_to_100_is_refused_by_the_schema(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    with pytest.raises(IntegrityError):
        async with database.session() as s:
            sessions = SessionRepository(s)
            await sessions.transition(
                session_id,
                from_statuses=[SessionStatus.RECORDING],
                to_status=SessionStatus.PROCESSING,
            )
            await sessions.record_progress(session_id, stage="oops", progress=101)


async def test_stale_processing_sessions_are_found_by_heartbeat_age(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    async with database.session() as s:
        sessions = SessionRepository(s)
        await sessions.transition(
            session_id, from_statuses=[SessionStatus.RECORDING], to_status=SessionStatus.PROCESSING
        )
        await sessions.record_progress(session_id, stage="decode", progress=5)
        now = datetime.now(UTC)
        assert session_id not in await sessions.list_stale_processing(
            heartbeat_before=now - timedelta(minutes=5)
        )
        assert session_id in await sessions.list_stale_processing(
            heartbeat_before=now + timedelta(seconds=1)
        )


async def test_sessions_list_newest_first_for_members_only(database: Database) -> None:
    owner, group_id, first = await _group_session(database)
    stranger = await _user(database, "nosy@example.com")
    async with database.session() as s:
        second = (await SessionRepository(s).create(group_id=group_id, started_by=owner)).id
    async with database.session() as s:
        sessions = SessionRepository(s)
        assert [x.id for x in await sessions.list_for_member(owner)] == [second, first]
        assert [x.id for x in await sessions.list_for_member(owner, limit=1, offset=1)] == [first]
        assert await sessions.list_for_member(stranger) == []
        assert await sessions.get_for_member(first, stranger) is None


async def test_chunk_numbers_are_unique_per_session_and_listed_in_order(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    async with database.session() as s:
        chunks = ChunkRepository(s)
        for n in (2, 0, 1):
            await _add_chunk(chunks, session_id, n, key=f"k/{n}")
    async with database.session() as s:
        assert [c.chunk_number for c in await ChunkRepository(s).list_for_session(session_id)] == [
            0,
            1,
            2,
        ]
    with pytest.raises(IntegrityError):
        async with database.session() as s:
            await _add_chunk(ChunkRepository(s), session_id, 1, key="k/x")
    async with database.session() as s:  # the failed insert lost nothing
        assert len(await ChunkRepository(s).list_for_session(session_id)) == 3


SPEAKERS = [
    NewSpeaker(
        "SPEAKER_00",
        4,
        31.5,
        {"lah": 3, "walao": 1},
        voice_embedding=b"\x00\x01",
        embedding_model="resemblyzer",
    ),
    NewSpeaker("SPEAKER_01", 2, 12.0, {"lor": 2}),
]


async def test_saving_results_twice_leaves_the_same_rows(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    segments = [
        NewSegment("SPEAKER_00", 0.0, 2.5, "walao la", "walao lah"),
        NewSegment("SPEAKER_01", 3.0, 4.0, "low", "lor"),
    ]
    for _ in range(2):
        async with database.session() as s:
            ids = await SpeakerRepository(s).replace_for_session(session_id, SPEAKERS)
            await TranscriptRepository(s).replace_for_session(session_id, segments, ids)
    async with database.session() as s:
        speakers = await SpeakerRepository(s).list_for_session(session_id)
        counts = await SpeakerRepository(s).word_counts(session_id)
        transcript = await TranscriptRepository(s).list_for_session(session_id)
    assert [sp.speaker_label for sp in speakers] == ["SPEAKER_00", "SPEAKER_01"]
    by_label = {sp.speaker_label: counts[sp.id] for sp in speakers}
    assert by_label == {"SPEAKER_00": {"lah": 3, "walao": 1}, "SPEAKER_01": {"lor": 2}}
    assert speakers[0].voice_embedding == b"\x00\x01"
    assert [(t.corrected_text, t.speaker_id) for t in transcript] == [
        ("walao lah", speakers[0].id),
        ("lor", speakers[1].id),
    ]


async def test_a_speaker_is_claimed_once_and_counts_follow_the_claim(database: Database) -> None:
    owner, group_id, session_id = await _group_session(database)
    async with database.session() as s:
        ids = await SpeakerRepository(s).replace_for_session(session_id, SPEAKERS)
    speaker = ids["SPEAKER_00"]
    async with database.session() as s:
        speakers = SpeakerRepository(s)
        assert await speakers.claim(
            speaker, claimed_by=owner, claim_type=ClaimType.SELF, attributed_to_user_id=owner
        )
        assert not await speakers.claim(speaker, claimed_by=owner, claim_type=ClaimType.SELF)
        assert await speakers.count_unclaimed(session_id) == 1
        words = WordCountRepository(s)
        now = datetime.now(UTC)
        await words.attribute(
            speaker_id=speaker,
            session_id=session_id,
            group_id=group_id,
            user_id=owner,
            counts={"lah": 3, "walao": 1, "sia": 0},
            detected_at=now,
        )
        await words.attribute(
            speaker_id=speaker,
            session_id=session_id,
            group_id=group_id,
            user_id=owner,
            counts={"lah": 3, "walao": 1},
            detected_at=now,
        )
        year = {"since": now - timedelta(days=1), "until": now + timedelta(days=1)}
        assert await words.totals_for_user(owner, **year) == {"lah": 3, "walao": 1}
    async with database.session() as s:
        assert await SpeakerRepository(s).unclaim(speaker)
        assert not await SpeakerRepository(s).unclaim(speaker)
        assert await WordCountRepository(s).remove_for_speaker(speaker) == 2
        assert await WordCountRepository(s).totals_for_user(owner, **year) == {}


async def test_a_guest_claim_needs_a_name(database: Database) -> None:
    owner, _, session_id = await _group_session(database)
    async with database.session() as s:
        ids = await SpeakerRepository(s).replace_for_session(session_id, SPEAKERS)
    with pytest.raises(IntegrityError):
        async with database.session() as s:
            await SpeakerRepository(s).claim(
                ids["SPEAKER_01"], claimed_by=owner, claim_type=ClaimType.GUEST
            )


async def test_events_stream_in_order_after_a_given_id(database: Database) -> None:
    _, _, session_id = await _group_session(database)
    async with database.session() as s:
        events = EventRepository(s)
        for stage, progress in [("decode", 5), ("diarize", 20), ("transcribe", 60)]:
            await events.append(session_id, stage=stage, progress=progress)
    async with database.session() as s:
        everything = await EventRepository(s).list_after(session_id)
        rest = await EventRepository(s).list_after(session_id, after_id=everything[0].id or 0)
    assert [e.stage for e in everything] == ["decode", "diarize", "transcribe"]
    assert [e.stage for e in rest] == ["diarize", "transcribe"]


async def test_deleting_a_session_cascades_to_everything_it_owns(database: Database) -> None:
    owner, group_id, session_id = await _group_session(database)
    async with database.session() as s:
        ids = await SpeakerRepository(s).replace_for_session(session_id, SPEAKERS)
        await TranscriptRepository(s).replace_for_session(
            session_id, [NewSegment("SPEAKER_00", 0, 1, "la", "lah")], ids
        )
        await _add_chunk(ChunkRepository(s), session_id, 0, key="k/0")
        await EventRepository(s).append(session_id, stage="decode", progress=1)
        await SpeakerRepository(s).claim(
            ids["SPEAKER_00"],
            claimed_by=owner,
            claim_type=ClaimType.SELF,
            attributed_to_user_id=owner,
        )
        await WordCountRepository(s).attribute(
            speaker_id=ids["SPEAKER_00"],
            session_id=session_id,
            group_id=group_id,
            user_id=owner,
            counts={"lah": 1},
            detected_at=datetime.now(UTC),
        )
    async with database.session() as s:
        assert await SessionRepository(s).delete(session_id)
    async with database.session() as s:
        assert await SpeakerRepository(s).list_for_session(session_id) == []
        assert await SpeakerRepository(s).word_counts(session_id) == {}
        assert await TranscriptRepository(s).list_for_session(session_id) == []
        assert await ChunkRepository(s).list_for_session(session_id) == []
        assert await EventRepository(s).list_after(session_id) == []
        far = {"since": datetime(2000, 1, 1, tzinfo=UTC), "until": datetime(2100, 1, 1, tzinfo=UTC)}
        assert await WordCountRepository(s).totals_for_user(owner, **far) == {}
        assert await ProfileRepository(s).get(owner) is not None  # people outlive sessions
