"""The outbox: a status change writes one pending delivery per webhook of the session's group."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from lahstats.storage.database import Database
from lahstats.storage.models import DeliveryStatus, SessionStatus, WebhookDelivery
from lahstats.storage.repositories import SessionRepository
from lahstats.webhooks.outbox import record_session_event, record_status_event
from tests.webhooks.conftest import group_with_webhooks, move


async def deliveries(database: Database) -> list[WebhookDelivery]:
    async with database.session() as db:
        result = await db.execute(select(WebhookDelivery))
        return list(result.scalars().all())


async def test_a_status_change_writes_one_delivery_per_webhook_of_the_group(
    database: Database,
) -> None:
    ours = await group_with_webhooks(database, ["http://a.test/hook", "http://b.test/hook"])
    theirs = await group_with_webhooks(database, ["http://c.test/hook"])
    message = "chunk 1 (audio/mp4) is not audio. The uploaded chunks are kept."

    await move(
        database,
        ours.session.id,
        SessionStatus.FAILED,
        error_message=message,
        duration_seconds=61.5,
    )

    rows = await deliveries(database)
    assert sorted(row.webhook_id for row in rows) == sorted(w.id for w in ours.webhooks)
    assert all(row.webhook_id != theirs.webhooks[0].id for row in rows)
    for row in rows:
        assert (row.event, row.status, row.attempts) == (
            "session.failed",
            DeliveryStatus.PENDING,
            0,
        )
        assert row.session_id == ours.session.id
        assert row.next_attempt_at is not None  # due at once
        payload = json.loads(row.payload)
        assert payload == {
            "id": str(row.id),
            "event": "session.failed",
            "occurred_at": payload["occurred_at"],
            "group_id": str(ours.group_id),
            "session": {
                "id": str(ours.session.id),
                "status": "failed",
                "error_message": message,
                "speaker_count": 0,
                "duration_seconds": 61.5,
            },
        }
    assert len({json.loads(row.payload)["occurred_at"] for row in rows}) == 1


async def test_only_the_three_outcomes_are_events(database: Database) -> None:
    setup = await group_with_webhooks(database, ["http://a.test/hook"])
    for status in (SessionStatus.PROCESSING, SessionStatus.RECORDING):
        await move(database, setup.session.id, status)
    assert await deliveries(database) == []

    for status in (SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED):
        await move(database, setup.session.id, status)
    assert sorted(row.event for row in await deliveries(database)) == [
        "session.completed",
        "session.ready_for_claiming",
    ]


async def test_a_group_without_webhooks_writes_nothing(database: Database) -> None:
    setup = await group_with_webhooks(database, [])
    await move(database, setup.session.id, SessionStatus.COMPLETED)
    assert await deliveries(database) == []


async def test_deliveries_are_rolled_back_with_the_status_change(database: Database) -> None:
    setup = await group_with_webhooks(database, ["http://a.test/hook"])

    class Abandoned(Exception):
        pass

    try:
        async with database.session() as db:
            assert await SessionRepository(db).transition(
                setup.session.id,
                from_statuses=[SessionStatus.RECORDING],
                to_status=SessionStatus.COMPLETED,
            )
            assert await record_status_event(db, setup.session.id)
            raise Abandoned
    except Abandoned:
        pass

    assert await deliveries(database) == []


async def test_an_outbox_failure_never_fails_the_status_change(database: Database) -> None:
    setup = await group_with_webhooks(database, ["http://a.test/hook"])
    async with database.session() as db:
        await SessionRepository(db).transition(
            setup.session.id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.FAILED,
            error_message="bad audio",
        )
        recording = await SessionRepository(db).get(setup.session.id)
        assert recording is not None
        # An event name over the column's 64 characters: PostgreSQL refuses the row.
        too_long = "session." + "x" * 100
        recorded = await record_session_event(db, recording, too_long)
        if database.backend == "postgresql":
            assert recorded == []
        assert await record_status_event(db, uuid.uuid4()) == []  # no such session

    async with database.session() as db:
        after = await SessionRepository(db).get(setup.session.id)
    assert after is not None
    assert after.status == SessionStatus.FAILED
