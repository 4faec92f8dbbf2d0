"""The job with the real embedded pipeline on real audio, once per database backend, twice over.

The 16 s fixture (two espeak voices, tests/fixtures/audio) is stored as one chunk; the job must
leave two claimable speakers with counts, a transcript, playable MP3 samples and a progress log
from 0 to 100, and a second run must leave the same rows.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lahstats.jobs.analysis import ModelCache
from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.pipeline.decode import decode_bytes
from lahstats.pipeline.sniff import sniff
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.keys import samples_prefix
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    EventRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from tests.jobs.sessions import end_again, ended_session

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "two_speakers.flac"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def real_models(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    """The configured embedded models, loaded once for both backends."""
    cache = ModelCache(Settings(env="test", data_dir=tmp_path_factory.mktemp("models")))
    await cache.get()
    return cache


async def _rows(resources: JobResources, session_id: uuid.UUID) -> dict[str, object]:
    async with resources.database.session() as db:
        speakers = await SpeakerRepository(db).list_for_session(session_id)
        counts = await SpeakerRepository(db).word_counts(session_id)
        transcript = await TranscriptRepository(db).list_for_session(session_id)
    return {
        "speakers": sorted(s.speaker_label for s in speakers),
        "count_rows": sum(len(words) for words in counts.values()),
        "total_count": sum(sum(words.values()) for words in counts.values()),
        "transcript_rows": len(transcript),
        "samples": sorted(s.sample_storage_key or "" for s in speakers),
    }


async def test_the_real_pipeline_processes_a_session_and_a_rerun_leaves_the_same_rows(
    resources: JobResources, real_models: ModelCache
) -> None:
    resources.models = real_models
    session_id = await ended_session(resources, [(CLIP.read_bytes(), "audio/flac")])
    job = {RESOURCES_KEY: resources, "job_try": 1}

    result = await process_session(job, str(session_id))

    assert result["status"] == "ready_for_claiming", result
    assert result["speakers"] == 2
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        speakers = await SpeakerRepository(db).list_for_session(session_id)
        counts = await SpeakerRepository(db).word_counts(session_id)
        transcript = await TranscriptRepository(db).list_for_session(session_id)
        events = await EventRepository(db).list_after(session_id)
    assert recording is not None
    assert recording.status == SessionStatus.READY_FOR_CLAIMING
    assert recording.duration_seconds == pytest.approx(16.5, abs=0.2)
    assert len(speakers) == 2
    for speaker in speakers:
        assert speaker.total_duration_seconds > 2
        assert speaker.voice_embedding is not None
        assert speaker.embedding_model
        assert speaker.sample_storage_key is not None
        clip = await resources.blobs.get(speaker.sample_storage_key)
        assert sniff(clip) == "mp3"
        assert len(decode_bytes(clip, label="sample")) > 16_000  # over a second of voice
    said = {word for words in counts.values() for word in words}
    assert {"lah", "lor"} & said  # the tracked words of the fixture reach the count rows
    assert transcript
    assert all(row.corrected_text and row.raw_text for row in transcript)
    assert all(row.speaker_id in {s.id for s in speakers} for row in transcript)
    percents = [event.progress for event in events]
    assert (events[0].stage, events[0].progress) == ("queued", 0)
    assert (events[-1].stage, events[-1].progress) == ("done", 100)
    assert percents == sorted(percents)
    assert {"decode", "diarize", "transcribe"} <= {event.stage for event in events}

    first = await _rows(resources, session_id)
    await end_again(resources, session_id)
    again = await process_session(job, str(session_id))

    assert again["status"] == "ready_for_claiming"
    assert await _rows(resources, session_id) == first
    assert isinstance(resources.blobs, LocalBlobStore)
    stored = resources.blobs.root / samples_prefix(session_id)
    assert (
        sorted(f"{samples_prefix(session_id)}{p.name}" for p in stored.iterdir())
        == first["samples"]
    )  # rewritten, not piled up


# The adversarial files the upload accepts (the rest are refused with a 4xx, see
# tests/api/test_chunks.py): processing must end cleanly, with no invented speech.
ACCEPTED_ADVERSARIAL = [
    "silence_60s.wav",
    "white_noise_60s.wav",
    "tiny_0.2s.wav",
    "truncated_data.wav",
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", ACCEPTED_ADVERSARIAL)
async def test_awkward_audio_is_processed_to_a_clean_end_with_no_words(
    resources: JobResources, real_models: ModelCache, shared_data: Path, name: str
) -> None:
    resources.models = real_models
    data = (shared_data / "dev" / "adversarial" / name).read_bytes()
    session_id = await ended_session(resources, [(data, "audio/wav")])

    result = await process_session({RESOURCES_KEY: resources, "job_try": 1}, str(session_id))

    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        counts = await SpeakerRepository(db).word_counts(session_id)
        speakers = await SpeakerRepository(db).list_for_session(session_id)
    assert recording is not None
    assert recording.status in {SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED}, result
    assert recording.error_message is None
    assert sum(sum(words.values()) for words in counts.values()) == 0
    if name == "silence_60s.wav":
        assert speakers == []
        assert recording.status == SessionStatus.COMPLETED  # nothing to claim
    assert len(speakers) <= 1
