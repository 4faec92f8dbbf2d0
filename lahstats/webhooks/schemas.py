"""What the API answers about webhooks: the read schemas ``WebhookService`` returns.

A webhook's secret appears in one of them only, the registration's.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from lahstats.storage.models import Webhook, WebhookDelivery


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
