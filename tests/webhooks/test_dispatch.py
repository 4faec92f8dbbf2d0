"""The dispatcher against a real HTTP receiver on loopback: signed sends, retries, giving up,
redirects, timeouts, private hosts, and two passes racing for the same deliveries."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import DeliveryStatus, SessionStatus, WebhookDelivery
from lahstats.storage.repositories.webhooks import DeliveryRepository
from lahstats.storage.types import utcnow
from lahstats.webhooks.dispatch import deliver_due, retry_delay
from lahstats.webhooks.signing import verify
from tests.conftest import free_port
from tests.webhooks.conftest import group_with_webhooks, move
from tests.webhooks.receiver import Receiver, receiving


def later(hours: float = 2) -> datetime:
    return utcnow() + timedelta(hours=hours)


async def delivery(database: Database, delivery_id: uuid.UUID) -> WebhookDelivery:
    async with database.session() as db:
        found = await db.get(WebhookDelivery, delivery_id)
    assert found is not None
    return found


async def only_delivery(database: Database) -> WebhookDelivery:
    async with database.session() as db:
        rows = (await db.execute(select(WebhookDelivery))).scalars().all()
    assert len(rows) == 1
    return rows[0]


async def test_a_due_delivery_is_sent_signed_and_marked_delivered(
    database: Database, hook_settings: Settings, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await group_with_webhooks(database, [receiver.url])
    await move(database, setup.session.id, SessionStatus.READY_FOR_CLAIMING, duration_seconds=12.0)
    pending = await only_delivery(database)

    attempts = await deliver_due(database, hook_settings, client)

    assert [(a.delivery_id, a.status, a.attempts, a.status_code) for a in attempts] == [
        (pending.id, DeliveryStatus.DELIVERED, 1, 200)
    ]
    [call] = receiver.calls
    assert call.body == pending.payload.encode()
    assert call.headers["content-type"] == "application/json"
    assert call.headers["x-lahstats-event"] == "session.ready_for_claiming"
    assert call.headers["x-lahstats-delivery"] == str(pending.id)
    assert call.headers["user-agent"].startswith("LahStats-Webhooks/")
    assert verify(setup.webhooks[0].secret, call.headers["x-lahstats-signature"], call.body)
    assert not verify("whsec_wrong", call.headers["x-lahstats-signature"], call.body)
    assert json.loads(call.body)["session"]["status"] == "ready_for_claiming"

    sent = await delivery(database, pending.id)
    assert (sent.status, sent.attempts, sent.last_status_code, sent.last_error) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
        None,
    )
    assert sent.delivered_at is not None
    assert sent.next_attempt_at is None
    assert await deliver_due(database, hook_settings, client, now=later()) == []  # sent once


async def test_a_refusing_receiver_is_retried_with_backoff_then_delivered(
    database: Database, hook_settings: Settings, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [500]
    setup = await group_with_webhooks(database, [receiver.url])
    await move(database, setup.session.id, SessionStatus.FAILED, error_message="bad audio")
    pending = await only_delivery(database)

    before = utcnow()
    [first] = await deliver_due(database, hook_settings, client)

    assert (first.status, first.attempts, first.status_code) == (DeliveryStatus.PENDING, 1, 500)
    retrying = await delivery(database, pending.id)
    assert retrying.last_status_code == 500
    assert retrying.last_error == "HTTP 500: receiver says no"
    assert retrying.next_attempt_at is not None
    # 10 s after the first failure, less the jitter: not due yet.
    assert before + timedelta(seconds=8) <= retrying.next_attempt_at
    assert retrying.next_attempt_at <= utcnow() + timedelta(seconds=10)
    assert await deliver_due(database, hook_settings, client) == []

    [second] = await deliver_due(database, hook_settings, client, now=later())

    assert (second.status, second.attempts, second.status_code) == (
        DeliveryStatus.DELIVERED,
        2,
        200,
    )
    assert receiver.delivery_ids() == [str(pending.id)] * 2  # the same id: receivers deduplicate
    done = await delivery(database, pending.id)
    assert (done.status, done.last_status_code, done.last_error) == (
        DeliveryStatus.DELIVERED,
        200,
        None,
    )


async def test_a_dead_url_counts_attempts_and_fails_after_the_last(
    database: Database, hook_settings: Settings, client: httpx.AsyncClient
) -> None:
    setup = await group_with_webhooks(database, [f"http://127.0.0.1:{free_port()}/hook"])
    await move(database, setup.session.id, SessionStatus.COMPLETED)
    pending = await only_delivery(database)

    statuses = []
    for _ in range(hook_settings.webhook_max_attempts):
        [attempt] = await deliver_due(database, hook_settings, client, now=later())
        statuses.append((attempt.status, attempt.attempts, attempt.status_code))
        assert attempt.error is not None
        assert attempt.error.startswith("ConnectError")

    assert statuses == [
        (DeliveryStatus.PENDING, 1, None),
        (DeliveryStatus.PENDING, 2, None),
        (DeliveryStatus.FAILED, 3, None),
    ]
    failed = await delivery(database, pending.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (
        DeliveryStatus.FAILED,
        3,
        None,
    )
    assert failed.last_error is not None
    assert await deliver_due(database, hook_settings, client, now=later(48)) == []


async def test_redirects_are_not_followed(
    database: Database, hook_settings: Settings, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [302]
    setup = await group_with_webhooks(database, [receiver.url])
    await move(database, setup.session.id, SessionStatus.COMPLETED)

    [attempt] = await deliver_due(database, hook_settings, client)

    assert (attempt.status, attempt.status_code) == (DeliveryStatus.PENDING, 302)
    assert attempt.error is not None
    assert "redirects are not followed" in attempt.error
    assert [call.path for call in receiver.calls] == ["/hook"]  # never /moved


async def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_attempt(
    database: Database, hook_settings: Settings
) -> None:
    quick = hook_settings.model_copy(update={"webhook_timeout_seconds": 0.3})
    async with receiving(Receiver(delay=1.0)) as slow, httpx.AsyncClient() as client:
        setup = await group_with_webhooks(database, [slow.url])
        await move(database, setup.session.id, SessionStatus.COMPLETED)

        [attempt] = await deliver_due(database, quick, client)

    assert attempt.status == DeliveryStatus.PENDING
    assert attempt.error == "no answer within 0.3 s"
    assert len(slow.calls) == 1


async def test_private_hosts_are_never_reached_when_refused(
    database: Database, hook_settings: Settings, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    # Registered while allowed (or a name that now resolves to loopback): checked again at send.
    strict = hook_settings.model_copy(update={"webhook_allow_private_hosts": False})
    setup = await group_with_webhooks(database, [receiver.url])
    await move(database, setup.session.id, SessionStatus.COMPLETED)

    [attempt] = await deliver_due(database, strict, client)

    assert attempt.status == DeliveryStatus.PENDING
    assert attempt.error is not None
    assert attempt.error.startswith("not sent: the webhook host '127.0.0.1' resolves to a private")
    assert receiver.calls == []


async def test_two_passes_at_once_send_each_delivery_once(
    database: Database,
    hook_settings: Settings,
    client: httpx.AsyncClient,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = await group_with_webhooks(database, [receiver.url] * 6)
    await move(database, setup.session.id, SessionStatus.COMPLETED)
    # Both passes see all six due before either claims one: only the claim can keep them apart.
    both_looked = asyncio.Barrier(2)
    seen: list[int] = []
    due_ids = DeliveryRepository.due_ids

    async def due_ids_then_wait(self: DeliveryRepository, **kwargs: Any) -> Any:
        found = await due_ids(self, **kwargs)
        seen.append(len(found))
        await both_looked.wait()
        return found

    monkeypatch.setattr(DeliveryRepository, "due_ids", due_ids_then_wait)
    other_process = Database(database.url)  # as another process would: its own engine
    try:
        first, second = await asyncio.gather(
            deliver_due(database, hook_settings, client),
            deliver_due(other_process, hook_settings, client),
        )
    finally:
        await other_process.dispose()

    assert seen == [6, 6]
    sent = [attempt.delivery_id for attempt in first + second]
    assert len(sent) == len(set(sent)) == 6
    assert sorted(receiver.delivery_ids()) == sorted(str(delivery_id) for delivery_id in sent)
    assert {attempt.status for attempt in first + second} == {DeliveryStatus.DELIVERED}


@pytest.mark.parametrize(("attempts", "base"), [(1, 10), (2, 20), (4, 80), (9, 2560), (20, 3600)])
def test_backoff_doubles_with_jitter_up_to_an_hour(attempts: int, base: float) -> None:
    delays = [retry_delay(attempts) for _ in range(50)]
    assert all(0.8 * base <= delay <= base for delay in delays)
    assert len(set(delays)) > 1  # jittered
