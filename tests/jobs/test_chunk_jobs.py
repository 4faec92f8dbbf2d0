"""Chunk jobs with the real embedded models: each chunk looked at as it arrives, out of order,
once; ``end`` assembles the session from what they stored without looking at any chunk again.

The 16 s two-voice fixture is cut in two inside "lor", so the word runs across the edge.
"""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from lahstats.jobs.analysis import ModelCache
from lahstats.jobs.chunks import analyze_chunk
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.pipeline import incremental
from lahstats.pipeline.decode import decode_file, decode_in_pieces
from lahstats.pipeline.types import SAMPLE_RATE, Audio
from lahstats.sessions import looks as chunk_looks
from lahstats.settings import Settings
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    SessionRepository,
    SpeakerRepository,
)
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from tests.jobs.sessions import end_again, recording_session

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "two_speakers.flac"
CUT_IN_LOR = 6.0  # seconds: inside "Okay lor" (see tests/pipeline/test_incremental.py)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def real_models(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    cache = ModelCache(Settings(env="test", data_dir=tmp_path_factory.mktemp("models")))
    await cache.get()
    return cache


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """The real ``look`` and ``join``, counted."""
    seen: dict[str, list[Any]] = {"look": [], "join": []}
    real_look, real_join = chunk_looks.look, chunk_looks.join

    def look(models: Any, number: int, audio: Any) -> Any:
        seen["look"].append(number)
        return real_look(models, number, audio)

    def join(models: Any, left: Any, right: Any) -> Any:
        seen["join"].append((left and left.number, right and right.number))
        return real_join(models, left, right)

    monkeypatch.setattr(chunk_looks, "look", look)
    monkeypatch.setattr(chunk_looks, "join", join)
    return seen


def _halves() -> list[tuple[bytes, str]]:
    samples = decode_file(CLIP).samples
    cut = round(CUT_IN_LOR * SAMPLE_RATE)
    out = []
    for half in (samples[:cut], samples[cut:]):
        buffer = io.BytesIO()
        sf.write(buffer, half, SAMPLE_RATE, format="WAV")
        out.append((buffer.getvalue(), "audio/wav"))
    return out


async def _said(resources: JobResources, session_id: uuid.UUID) -> dict[str, int]:
    async with resources.database.session() as db:
        counts = await SpeakerRepository(db).word_counts(session_id)
    pooled: dict[str, int] = {}
    for words in counts.values():
        for word, count in words.items():
            pooled[word] = pooled.get(word, 0) + count
    return pooled


async def test_chunks_looked_at_as_they_arrive_make_end_only_assemble(
    resources: JobResources, real_models: ModelCache, calls: dict[str, list[Any]]
) -> None:
    resources.models = real_models
    job = {RESOURCES_KEY: resources, "job_try": 1}
    session_id = await recording_session(resources, _halves())

    # out of order: chunk 1 first, when chunk 0 has not been looked at
    first = await analyze_chunk(job, str(session_id), 1)
    second = await analyze_chunk(job, str(session_id), 0)
    again = await analyze_chunk(job, str(session_id), 0)  # the same bytes: not looked at again

    assert (first["edges"], second["edges"], again["edges"]) == (0, 2, 2)
    assert calls["look"] == [1, 0]
    assert sorted(calls["join"], key=str) == [(0, 1), (None, 0)]
    async with resources.database.session() as db:
        looks = await ChunkAnalysisRepository(db).list_for_session(session_id)
        edges = await ChunkAnalysisRepository(db).edges_for_session(session_id)
    assert [(row.chunk_number, row.error is None) for row in looks] == [(0, True), (1, True)]
    assert len(edges) == 2

    await end_again(resources, session_id, from_status=SessionStatus.RECORDING)
    result = await process_session(job, str(session_id))

    assert result["status"] == "ready_for_claiming", result
    assert result["speakers"] == 2
    assert calls["look"] == [1, 0]  # nothing decoded and recognised again
    assert calls["join"][-1] == (1, None)  # only the session's last edge was left for end
    assert await _said(resources, session_id) == {"walao": 1, "lah": 1, "lor": 1, "can": 1}
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        speakers = await SpeakerRepository(db).list_for_session(session_id)
        left = await ChunkAnalysisRepository(db).list_for_session(session_id)
        events = await EventRepository(db).list_after(session_id)
    assert recording is not None
    assert recording.duration_seconds == pytest.approx(16.5, abs=0.2)
    assert all(s.sample_storage_key and s.voice_embedding is not None for s in speakers)
    assert left == []  # the looks held audio at their edges: dropped with the results saved
    percents = [event.progress for event in events]
    assert percents == sorted(percents)
    assert (events[-1].stage, events[-1].progress) == ("done", 100)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_end_looks_at_what_no_chunk_job_did_and_leaves_out_a_chunk_that_is_not_audio(
    resources: JobResources, real_models: ModelCache, calls: dict[str, list[Any]]
) -> None:
    resources.models = real_models
    halves = _halves()
    session_id = await recording_session(resources, [halves[0], halves[1], halves[1]])
    async with resources.database.session() as db:
        broken = await ChunkRepository(db).get(session_id, 2)
    assert broken is not None
    await resources.blobs.put(broken.storage_key, b"this is not audio at all", content_type="x")
    await end_again(resources, session_id, from_status=SessionStatus.RECORDING)
    job = {RESOURCES_KEY: resources, "job_try": 1}
    late = await analyze_chunk(job, str(session_id), 0)  # queued before the end, run after it

    result = await process_session(job, str(session_id))

    assert late == {"skipped": "the session is processing"}  # the end job does it
    assert result["status"] == "ready_for_claiming", result
    assert result["skipped_chunks"] == [2]
    assert sorted(calls["look"]) == [0, 1]  # no chunk job ran: end did their work (2 failed)
    assert await _said(resources, session_id) == {"walao": 1, "lah": 1, "lor": 1, "can": 1}
    async with resources.database.session() as db:
        events = await EventRepository(db).list_after(session_id)
    (skipped,) = [event for event in events if event.stage == "skipped"]
    assert skipped.message is not None
    assert skipped.message.startswith("chunk 2 was left out: chunk 2")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_long_chunk_is_looked_at_in_pieces_and_read_a_span_at_a_time(
    resources: JobResources, real_models: ModelCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the 16.5 s clip uploaded as one file, where a chunk over 10 s is long: looked at in 6 s
    # pieces as a 2-hour upload is in 30 s ones, and never decoded whole
    monkeypatch.setattr(chunk_looks, "LONG_CHUNK_SECONDS", 10.0)
    monkeypatch.setattr(chunk_looks, "PIECE_SECONDS", 6.0)
    whole: list[int] = []
    spans: list[tuple[float, float]] = []
    pieces: list[float] = []
    real_decode, real_span = chunk_looks.decode_bytes, chunk_looks.decode_span
    real_look = incremental.look

    def look(models: Any, number: int, audio: Any) -> Any:
        pieces.append(round(audio.duration, 1))
        return real_look(models, number, audio)

    def decode_bytes(data: bytes, **kw: Any) -> Any:
        whole.append(len(data))
        return real_decode(data, **kw)

    def decode_span(data: bytes, start: float, seconds: float, **kw: Any) -> Any:
        spans.append((start, seconds))
        return real_span(data, start, seconds, **kw)

    monkeypatch.setattr(chunk_looks, "decode_bytes", decode_bytes)
    monkeypatch.setattr(chunk_looks, "decode_span", decode_span)
    monkeypatch.setattr(incremental, "look", look)
    resources.models = real_models
    job = {RESOURCES_KEY: resources, "job_try": 1}
    session_id = await recording_session(resources, [(CLIP.read_bytes(), "audio/flac")], [16.5])

    looked = await analyze_chunk(job, str(session_id), 0)
    await end_again(resources, session_id, from_status=SessionStatus.RECORDING)
    result = await process_session(job, str(session_id))

    assert looked["error"] is None
    assert result["status"] == "ready_for_claiming", result
    assert pieces == [6.0, 6.0, pytest.approx(4.5, abs=0.2)]
    assert whole == []
    assert spans
    assert all(seconds <= 6.0 for _, seconds in spans)
    # what the same pieces give when uploaded as chunks of their own
    models = await real_models.get()
    cut = [Audio(s) for s in decode_in_pieces(CLIP.read_bytes(), 6.0)]
    expected = incremental.analyze_incrementally(models, cut)
    pooled: dict[str, int] = {}
    for speaker in expected.counts:
        for word, count in speaker.counts.items():
            pooled[word] = pooled.get(word, 0) + count
    assert await _said(resources, session_id) == pooled
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        speakers = await SpeakerRepository(db).list_for_session(session_id)
    assert recording is not None
    assert recording.duration_seconds == pytest.approx(16.5, abs=0.2)
    assert len(speakers) == len({turn.speaker for turn in expected.turns}) == 2
    assert all(s.sample_storage_key and s.voice_embedding is not None for s in speakers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_end_waits_for_the_chunk_job_still_looking_at_the_last_chunk(
    resources: JobResources,
    real_models: ModelCache,
    calls: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the app uploads its last chunk and ends at once: the chunk job is still looking at it
    looking = threading.Event()
    counted = chunk_looks.look

    def look(models: Any, number: int, audio: Any) -> Any:
        looking.set()
        return counted(models, number, audio)

    resources.models = real_models
    job = {RESOURCES_KEY: resources, "job_try": 1}
    session_id = await recording_session(resources, _halves())
    await analyze_chunk(job, str(session_id), 0)
    monkeypatch.setattr(chunk_looks, "look", look)
    last = asyncio.create_task(analyze_chunk(job, str(session_id), 1))
    assert await asyncio.to_thread(looking.wait, 60)

    await end_again(resources, session_id, from_status=SessionStatus.RECORDING)
    result = await process_session(job, str(session_id))
    await last

    assert result["status"] == "ready_for_claiming", result
    assert calls["look"] == [0, 1]  # the last chunk looked at once, by its own job
    assert await _said(resources, session_id) == {"walao": 1, "lah": 1, "lor": 1, "can": 1}
