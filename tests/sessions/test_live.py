"""Live counts: what the looks stored so far add up to, with only the edges joined from them."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import numpy as np
import pytest

from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.diarize import VoiceFeatures
from lahstats.pipeline.incremental import ChunkResult, Edge, words_to_json
from lahstats.pipeline.types import Word
from lahstats.sessions import live
from lahstats.sessions.live import LiveCounts, LiveFeeds, follow_live, live_counts
from lahstats.sessions.progress import Final
from lahstats.storage.database import Database
from lahstats.storage.models import ChunkAnalysis, ChunkEdge, SessionStatus
from lahstats.storage.repositories import GroupRepository, ProfileRepository, SessionRepository
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository, edge_source

SESSION = uuid.uuid4()


def _speech(frames: int) -> VoiceFeatures:
    """One voice talking throughout: every frame speech, windows of one vector."""
    where = np.arange(frames, dtype=np.int64)
    starts = np.arange(0, frames - 160 + 1, 50, dtype=np.int64)
    return VoiceFeatures(
        speech=np.ones(frames, bool),
        overlap=np.zeros(frames, bool),
        embeddings=np.ones((len(starts), 256), np.float32) / 16,
        where=where,
        starts=starts,
        ends=starts + 160,
        voices=np.ones((4, 256), np.float32) / 16,
        nearest=np.zeros(len(starts), np.int64),
        short_spans=np.zeros((0, 2), np.int64),
        short_vectors=np.zeros((0, 256), np.float32),
    )


def _look(number: int, words: tuple[Word, ...]) -> ChunkAnalysis:
    result = ChunkResult(number, 3.0, _speech(300), words, Edge.none(0.0), Edge.none(3.0))
    data = result.to_bytes()
    return ChunkAnalysis(
        session_id=SESSION,
        chunk_number=number,
        sha256="0" * 64,
        models="m",
        digest=hashlib.sha256(data).hexdigest(),
        result=data,
    )


def _edge(
    left: ChunkAnalysis, right: ChunkAnalysis, words: tuple[Word, ...], source: str
) -> ChunkEdge:
    return ChunkEdge(
        session_id=SESSION,
        left_number=left.chunk_number,
        right_number=right.chunk_number,
        made_from=source,
        words=words_to_json(words),
    )


def test_live_counts_add_up_the_looks_and_the_edges_joined_from_them() -> None:
    first = _look(0, (Word("lah", 0.5, 0.7, "SPEAKER_00"), Word("walao", 1.0, 1.4, "SPEAKER_00")))
    second = _look(1, (Word("lah", 1.0, 1.2, "SPEAKER_00"),))  # 4.0 s into the session
    broken = ChunkAnalysis(
        session_id=SESSION, chunk_number=2, sha256="1" * 64, models="m", digest="x", error="bad"
    )
    across = (Word("shiok", 0.1, 0.4, "LSPEAKER_00"),)
    joined = _edge(first, second, across, edge_source(first, second))
    stale = _edge(second, broken, (Word("sian", 0.1, 0.4, "L"),), "an:older-look")

    live = live_counts([first, second, broken], [joined, stale], load_lexicon())

    assert live.provisional
    assert live.chunks == 2
    assert live.seconds == 6.0
    assert live.totals == {"lah": 2, "shiok": 1, "walao": 1}  # not "sian": its edge is stale
    assert live.speakers == {"SPEAKER_00": {"lah": 2, "walao": 1, "shiok": 1}}
    assert list(live.skipped) == [2]
    assert live.to_json()["skipped_chunks"] == [2]


async def _recording(database: Database) -> uuid.UUID:
    async with database.session() as db:
        owner = await ProfileRepository(db).ensure(uuid.uuid4(), email="live@x.sg")
        group = await GroupRepository(db).create(name="g", invite_code="live1", owner_id=owner.id)
        recording = await SessionRepository(db).create(group_id=group.id, started_by=owner.id)
    return recording.id


async def _stop_recording(database: Database, session_id: uuid.UUID) -> None:
    async with database.session() as db:
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.PROCESSING,
            stage="queued",
        )


async def test_following_a_recording_reads_each_look_once_and_ends_with_the_recording(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.session() as db:
        owner = await ProfileRepository(db).ensure(uuid.uuid4(), email="live@x.sg")
        group = await GroupRepository(db).create(name="g", invite_code="live1", owner_id=owner.id)
        recording = await SessionRepository(db).create(group_id=group.id, started_by=owner.id)
    first = _look(0, (Word("lah", 0.5, 0.7, "SPEAKER_00"),))
    second = _look(1, (Word("walao", 1.0, 1.4, "SPEAKER_00"),))
    for look in (first, second):
        look.session_id = recording.id
    read: list[list[int]] = []
    real = ChunkAnalysisRepository.list_for_session

    async def list_for_session(self: Any, session_id: uuid.UUID, numbers: Any = None) -> Any:
        read.append(sorted(numbers) if numbers is not None else [-1])
        return await real(self, session_id, numbers)

    monkeypatch.setattr(ChunkAnalysisRepository, "list_for_session", list_for_session)
    async with database.session() as db:
        await ChunkAnalysisRepository(db).put(first)
    stream = follow_live(database, recording.id, poll_seconds=0.01)

    one = await anext(stream)
    async with database.session() as db:
        await ChunkAnalysisRepository(db).put(second)
    two = await anext(stream)
    async with database.session() as db:
        await SessionRepository(db).transition(
            recording.id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.PROCESSING,
            stage="queued",
        )
    last = await anext(stream)

    assert isinstance(one, LiveCounts)
    assert (one.chunks, dict(one.totals)) == (1, {"lah": 1})
    assert isinstance(two, LiveCounts)
    assert (two.chunks, dict(two.totals)) == (2, {"lah": 1, "walao": 1})
    assert read == [[0], [1]]  # each look read once, the rest polled as digests
    assert isinstance(last, Final)


async def test_everyone_following_a_session_shares_one_read_and_one_assembly_per_update(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table of friends all watching the meter: each look is read and each update assembled
    once in the process, not once per follower; the feed goes when the last one leaves."""
    session_id = await _recording(database)
    first = _look(0, (Word("lah", 0.5, 0.7, "SPEAKER_00"),))
    second = _look(1, (Word("walao", 1.0, 1.4, "SPEAKER_00"),))
    for look in (first, second):
        look.session_id = session_id
    read: list[list[int]] = []
    assembled: list[int] = []
    real_read, real_counts = ChunkAnalysisRepository.list_for_session, live.live_counts

    async def list_for_session(self: Any, session_id: uuid.UUID, numbers: Any = None) -> Any:
        read.append(sorted(numbers) if numbers is not None else [-1])
        return await real_read(self, session_id, numbers)

    def counting(*args: Any, **kwargs: Any) -> LiveCounts:
        found = real_counts(*args, **kwargs)
        assembled.append(found.chunks)
        return found

    monkeypatch.setattr(ChunkAnalysisRepository, "list_for_session", list_for_session)
    monkeypatch.setattr(live, "live_counts", counting)
    async with database.session() as db:
        await ChunkAnalysisRepository(db).put(first)
    feeds = LiveFeeds()
    streams = [follow_live(database, session_id, feeds=feeds, poll_seconds=0.01) for _ in range(4)]

    ones = await asyncio.gather(*(anext(stream) for stream in streams))
    assert len(feeds) == 1
    async with database.session() as db:
        await ChunkAnalysisRepository(db).put(second)
    twos = await asyncio.gather(*(anext(stream) for stream in streams))
    await _stop_recording(database, session_id)
    lasts = await asyncio.gather(*(anext(stream) for stream in streams))

    assert {(one.chunks, tuple(one.totals.items())) for one in ones} == {(1, (("lah", 1),))}
    assert {(two.chunks, tuple(sorted(two.totals.items()))) for two in twos} == {
        (2, (("lah", 1), ("walao", 1)))
    }
    assert read == [[0], [1]]  # each look read once for all four
    assert assembled == [1, 2]  # each update assembled once for all four
    assert all(isinstance(last, Final) for last in lasts)
    for stream in streams:
        await stream.aclose()
    assert len(feeds) == 0  # nobody follows: the parsed looks are let go
