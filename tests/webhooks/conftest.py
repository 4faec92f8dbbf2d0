"""Webhook fixtures: a real receiver on loopback, fast settings, the dispatcher's HTTP client,
and a group with webhooks and a session over the ``database`` fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import pytest

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import RecordingSession, SessionStatus, Webhook
from lahstats.storage.repositories import GroupRepository, ProfileRepository, SessionRepository
from lahstats.storage.repositories.webhooks import WebhookRepository
from lahstats.webhooks.dispatch import new_client
from lahstats.webhooks.outbox import record_status_event
from lahstats.webhooks.registry import new_secret
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_max_attempts": 3, "webhook_timeout_seconds": 2})


@pytest.fixture
async def client(hook_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(hook_settings) as opened:
        yield opened


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as opened:
        yield opened


@dataclass
class Setup:
    group_id: uuid.UUID
    webhooks: list[Webhook]
    session: RecordingSession


async def group_with_webhooks(database: Database, urls: Sequence[str]) -> Setup:
    """A group (with an owner) with one webhook per URL, and a session in it still recording."""
    async with database.session() as db:
        owner = await ProfileRepository(db).ensure(uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.sg")
        group = await GroupRepository(db).create(
            name="Kopi", invite_code=uuid.uuid4().hex[:8], owner_id=owner.id
        )
        webhooks = [
            await WebhookRepository(db).create(
                group_id=group.id, url=url, secret=new_secret(), created_by=owner.id
            )
            for url in urls
        ]
        recording = await SessionRepository(db).create(group_id=group.id, started_by=owner.id)
    return Setup(group.id, webhooks, recording)


async def move(
    database: Database,
    session_id: uuid.UUID,
    to_status: SessionStatus,
    **values: object,
) -> None:
    """Moves a session as the job or a claim would, recording its webhook event alongside."""
    async with database.session() as db:
        assert await SessionRepository(db).transition(
            session_id, from_statuses=list(SessionStatus), to_status=to_status, **values
        )
        await record_status_event(db, session_id)
