"""Job fixtures: a blob store, the job's resources over the ``database`` fixture (SQLite and
PostgreSQL), and the fake pipeline at the job's seam (see fake_pipeline.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lahstats.jobs import process
from lahstats.jobs.context import JobResources
from lahstats.sessions import processing
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database
from tests.jobs.fake_pipeline import FAKE_MODELS, FakePipeline


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    """Fast clocks: a heartbeat every 50 ms, three tries."""
    return settings.model_copy(
        update={"job_heartbeat_seconds": 0.05, "job_stale_seconds": 30, "job_max_tries": 3}
    )


@pytest.fixture
def resources(job_settings: Settings, database: Database, tmp_path: Path) -> JobResources:
    return JobResources(
        settings=job_settings,
        database=database,
        blobs=LocalBlobStore(tmp_path / "blobs"),
        worker_name="test-worker",
    )


@pytest.fixture
def fake_pipeline(monkeypatch: pytest.MonkeyPatch, resources: JobResources) -> FakePipeline:
    fake = FakePipeline()

    async def loaded() -> Any:
        return FAKE_MODELS

    monkeypatch.setattr(processing, "analyze_chunks", fake)
    monkeypatch.setattr(resources.models, "get", loaded)
    # The seam is whole-session processing's (chunk by chunk: test_chunk_jobs.py, real models).
    resources.settings = resources.settings.model_copy(update={"incremental": False})
    # Retries in milliseconds, not seconds.
    monkeypatch.setattr(process, "backoff_seconds", lambda job_try: 0.01 * job_try)
    return fake
