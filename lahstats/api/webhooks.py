"""``/groups/{id}/webhooks``: register, list and delete a group's webhooks; read its deliveries.

The secret appears in one response only, the registration's; nothing here logs it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from lahstats.api.deps import Caller, ProcessRuntime, Webhooks
from lahstats.api.errors import error_responses
from lahstats.api.schemas import QUERY_INT_MAX
from lahstats.storage.models import Webhook, WebhookDelivery


class WebhookCreate(msgspec.Struct, kw_only=True):
    # The service checks the real limit (2048) and says what to do; this only bounds the body.
    url: Annotated[str, msgspec.Meta(max_length=8192)]


class WebhookOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    url: str
    created_by: uuid.UUID | None
    created_at: datetime


class WebhookCreatedOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    url: str
    secret: str  # shown only here: the key of X-LahStats-Signature
    created_at: datetime


class WebhooksOut(msgspec.Struct, kw_only=True):
    webhooks: list[WebhookOut]


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event: str
    session_id: uuid.UUID | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class DeliveriesOut(msgspec.Struct, kw_only=True):
    deliveries: list[DeliveryOut]
    limit: int
    offset: int
    next_offset: int | None


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=webhook.id, url=webhook.url, created_by=webhook.created_by, created_at=webhook.created_at
    )


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event=delivery.event,
        session_id=delivery.session_id,
        status=delivery.status.value,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
    )


class WebhookController(Controller):
    path = "/groups/{group_id:uuid}/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary="Register a webhook (group owner); the response holds its secret, once",
        responses=error_responses(403, 404, 409, 413, 415, 422),
    )
    async def register(
        self,
        group_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookCreate],
        caller: Caller,
        webhooks: Webhooks,
        runtime: ProcessRuntime,
    ) -> WebhookCreatedOut:
        webhook = await webhooks.register(
            group_id=group_id, caller_id=caller.user_id, url=data.url, settings=runtime.settings
        )
        return WebhookCreatedOut(
            id=webhook.id, url=webhook.url, secret=webhook.secret, created_at=webhook.created_at
        )

    @get(summary="The group's webhooks (without their secrets)", responses=error_responses(404))
    async def list_webhooks(
        self, group_id: FromPath[uuid.UUID], caller: Caller, webhooks: Webhooks
    ) -> WebhooksOut:
        found = await webhooks.list(group_id, caller.user_id)
        return WebhooksOut(webhooks=[webhook_out(webhook) for webhook in found])

    @delete(
        "/{webhook_id:uuid}",
        summary="Delete a webhook and its deliveries (group owner)",
        responses=error_responses(403, 404),
    )
    async def delete_webhook(
        self,
        group_id: FromPath[uuid.UUID],
        webhook_id: FromPath[uuid.UUID],
        caller: Caller,
        webhooks: Webhooks,
    ) -> None:
        await webhooks.delete(group_id=group_id, webhook_id=webhook_id, caller_id=caller.user_id)

    @get(
        "/deliveries",
        summary="Deliveries to the group's webhooks, newest first",
        responses=error_responses(404),
    )
    async def deliveries(
        self,
        group_id: FromPath[uuid.UUID],
        caller: Caller,
        webhooks: Webhooks,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=QUERY_INT_MAX)] = 0,
    ) -> DeliveriesOut:
        found = await webhooks.deliveries(group_id, caller.user_id, limit=limit + 1, offset=offset)
        return DeliveriesOut(
            deliveries=[delivery_out(delivery) for delivery in found[:limit]],
            limit=limit,
            offset=offset,
            next_offset=offset + limit if len(found) > limit else None,
        )
