"""Through the real job seam: processing a session writes its webhook event with the outcome, and
the dispatcher sends it. The pipeline is faked where it costs minutes (tests/jobs/fake_pipeline)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lahstats.jobs.context import RESOURCES_KEY, JobResources
from lahstats.jobs.process import process_session
from lahstats.sessions import processing
from lahstats.settings import Settings
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.database import Database
from lahstats.storage.models import DeliveryStatus, SessionStatus, WebhookDelivery
from lahstats.storage.repositories import SessionRepository
from lahstats.storage.repositories.webhooks import WebhookRepository
from lahstats.webhooks.dispatch import deliver_due
from lahstats.webhooks.registry import new_secret
from lahstats.webhooks.signing import verify
from tests.jobs.fake_pipeline import FAKE_MODELS, FakePipeline
from tests.jobs.sessions import ended_session, wav
from tests.webhooks.receiver import Receiver


@pytest.fixture
def resources(hook_settings: Settings, database: Database, tmp_path: Path) -> JobResources:
    return JobResources(
        # whole-session processing: the fake pipeline sits at its seam
        settings=hook_settings.model_copy(
            update={"job_heartbeat_seconds": 0.05, "incremental": False}
        ),
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
    return fake


async def with_webhook(resources: JobResources, session_id: uuid.UUID, url: str) -> str:
    """Registers a webhook on the session's group; returns its secret."""
    async with resources.database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        assert recording is not None
        webhook = await WebhookRepository(db).create(
            group_id=recording.group_id,
            url=url,
            secret=new_secret(),
            created_by=recording.started_by,
        )
    return webhook.secret


async def deliveries(resources: JobResources) -> list[WebhookDelivery]:
    async with resources.database.session() as db:
        return list((await db.execute(select(WebhookDelivery))).scalars().all())


async def test_a_session_that_fails_processing_sends_session_failed(
    resources: JobResources,
    fake_pipeline: FakePipeline,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    session_id = await ended_session(
        resources, [(wav(), "audio/wav"), (b"<html>not audio at all</html>", "audio/mp4")]
    )
    secret = await with_webhook(resources, session_id, receiver.url)

    result = await process_session({RESOURCES_KEY: resources, "job_try": 1}, str(session_id))

    assert "failed" in result
    [pending] = await deliveries(resources)
    assert (pending.event, pending.status, pending.session_id) == (
        "session.failed",
        DeliveryStatus.PENDING,
        session_id,
    )
    payload = json.loads(pending.payload)
    assert payload["session"]["status"] == "failed"
    assert payload["session"]["error_message"] == result["failed"]
    assert "transcript" not in pending.payload

    [attempt] = await deliver_due(resources.database, resources.settings, client)

    assert attempt.status == DeliveryStatus.DELIVERED
    [call] = receiver.calls
    assert call.headers["x-lahstats-event"] == "session.failed"
    assert verify(secret, call.headers["x-lahstats-signature"], call.body)


async def test_a_processed_session_sends_ready_for_claiming_with_its_speaker_count(
    resources: JobResources, fake_pipeline: FakePipeline
) -> None:
    session_id = await ended_session(resources, [(wav(), "audio/wav")])
    await with_webhook(resources, session_id, "http://receiver.test/hook")

    result = await process_session({RESOURCES_KEY: resources, "job_try": 1}, str(session_id))

    assert result["status"] == SessionStatus.READY_FOR_CLAIMING.value
    [pending] = await deliveries(resources)
    assert pending.event == "session.ready_for_claiming"
    session = json.loads(pending.payload)["session"]
    assert (session["status"], session["speaker_count"], session["error_message"]) == (
        "ready_for_claiming",
        2,
        None,
    )
    assert session["duration_seconds"] == pytest.approx(0.5)
