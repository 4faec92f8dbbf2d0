"""A recount equals a fresh run: the real pipeline on the two-voice fixture, once before a group
adds a word and once after, against a recount of the first run's stored recognition.

One run pair on one backend (the recount's database rules run on both in tests/words).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lahstats.jobs.analysis import ModelCache
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.settings import Settings
from lahstats.storage.repositories import (
    RecognitionRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from lahstats.words.custom import CustomWordService
from lahstats.words.recount import RecountService
from tests.jobs.sessions import end_again, ended_session

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "two_speakers.flac"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def real_models(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    cache = ModelCache(Settings(env="test", data_dir=tmp_path_factory.mktemp("models")))
    await cache.get()
    return cache


Line = tuple[str | None, float, float, str, str]


async def _saved(
    resources: JobResources, session_id: uuid.UUID
) -> tuple[dict[str, dict[str, int]], list[Line]]:
    """Per speaker label: the counts and the transcript lines (as counted and as heard)."""
    async with resources.database.session() as db:
        speakers = await SpeakerRepository(db).list_for_session(session_id)
        counts = await SpeakerRepository(db).word_counts(session_id)
        lines = await TranscriptRepository(db).list_for_session(session_id)
    label = {speaker.id: speaker.speaker_label for speaker in speakers}
    return {label[s]: found for s, found in counts.items() if found}, [
        (
            label.get(line.speaker_id) if line.speaker_id else None,
            line.start_seconds,
            line.end_seconds,
            line.corrected_text,
            line.raw_text,
        )
        for line in lines
    ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_recount_with_a_new_word_equals_processing_again(
    resources: JobResources, real_models: ModelCache
) -> None:
    resources.models = real_models
    session_id = await ended_session(resources, [(CLIP.read_bytes(), "audio/flac")])
    job = {RESOURCES_KEY: resources, "job_try": 1}
    assert (await process_session(job, str(session_id)))["status"] == "ready_for_claiming"
    before = await _saved(resources, session_id)
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        assert recording is not None
        assert recording.started_by is not None
        assert await RecognitionRepository(db).get(session_id) is not None
        # Speaker B says "makan"; the recogniser writes it as English ("makin'").
        await CustomWordService(db).add(
            group_id=recording.group_id,
            caller_id=recording.started_by,
            word="makan",
            variants=["makin", "make an"],
            pronunciation="M AA K AA N",
        )

    async with resources.database.session() as db:
        summary = await RecountService(db).recount_group(recording.group_id, recording.started_by)
    recounted = await _saved(resources, session_id)
    await end_again(resources, session_id)
    assert (await process_session(job, str(session_id)))["status"] == "ready_for_claiming"
    fresh = await _saved(resources, session_id)

    assert (summary.sessions_recounted, summary.sessions_skipped) == (1, 0)
    assert recounted == fresh
    said = {word for found in fresh[0].values() for word in found}
    assert "makan" in said, fresh
    assert summary.counts_changed == 1
    assert recounted != before
