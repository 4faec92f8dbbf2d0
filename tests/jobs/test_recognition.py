"""The job counts with the group's words and keeps what was heard, for a later recount (the fake
pipeline at the job's seam; tests/jobs/test_recount_pipeline.py runs the real one)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.recognition import load_recognition
from lahstats.pipeline.types import Analysis, ProgressHook, Word
from lahstats.sessions import processing
from lahstats.storage.models import SessionRecognition
from lahstats.storage.repositories import RecognitionRepository, SessionRepository
from lahstats.words.custom import CustomWordService
from tests.jobs.fake_pipeline import FakePipeline
from tests.jobs.sessions import end_again, ended_session, wav

HEARD = (Word("while", 0.0, 0.05, "SPEAKER_00"), Word("up", 0.05, 0.1, "SPEAKER_00", 0.25))


async def test_the_job_counts_with_the_groups_words_and_keeps_what_was_heard(
    resources: JobResources, fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexicons: list[Lexicon | None] = []

    def analyze(models: Any, chunks: Any, hook: ProgressHook, *, lexicon: Any = None) -> Analysis:
        lexicons.append(lexicon)
        return replace(fake_pipeline(models, chunks, hook), heard=HEARD)

    monkeypatch.setattr(processing, "analyze_chunks", analyze)
    session_id = await ended_session(resources, [(wav(), "audio/wav")])
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        assert recording is not None
        assert recording.started_by is not None
        await CustomWordService(db).add(
            group_id=recording.group_id, caller_id=recording.started_by, word="makan"
        )
    job = {RESOURCES_KEY: resources, "job_try": 1}

    assert (await process_session(job, str(session_id)))["status"] == "ready_for_claiming"
    await end_again(resources, session_id)
    assert (await process_session(job, str(session_id)))["status"] == "ready_for_claiming"

    assert len(lexicons) == 2
    assert all(lexicon is not None and "makan" in lexicon for lexicon in lexicons)
    async with resources.database.session() as db:
        stored = await RecognitionRepository(db).get(session_id)
        rows = (await db.execute(select(func.count()).select_from(SessionRecognition))).scalar()
    assert stored is not None
    assert rows == 1  # a second run replaces the first one's
    heard, turns = load_recognition(stored.heard, stored.turns)
    assert heard == HEARD
    assert [turn.speaker for turn in turns] == ["SPEAKER_00", "SPEAKER_01"]
