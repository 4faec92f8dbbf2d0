"""Webhooks of a group, and their deliveries: the outbox a dispatcher drains.

A delivery is claimed with a conditional update that pushes ``next_attempt_at`` past the send
and counts the attempt, so of two dispatchers that saw it due exactly one sends it; its outcome is
written only by the claim that made it (``attempts`` still equal). Claims and outcomes begin their
transaction with the ``UPDATE``, so SQLite takes its write lock first and waits its turn instead
of failing a read-then-write upgrade.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlmodel import col

from lahstats.storage.models import DeliveryStatus, Webhook, WebhookDelivery
from lahstats.storage.repositories.base import Repository


class WebhookRepository(Repository):
    async def create(
        self, *, group_id: uuid.UUID, url: str, secret: str, created_by: uuid.UUID | None
    ) -> Webhook:
        webhook = Webhook(group_id=group_id, url=url, secret=secret, created_by=created_by)
        self.session.add(webhook)
        await self.session.flush()
        return webhook

    async def list_for_group(self, group_id: uuid.UUID) -> Sequence[Webhook]:
        result = await self.session.execute(
            select(Webhook)
            .where(col(Webhook.group_id) == group_id)
            .order_by(col(Webhook.created_at), col(Webhook.id))
        )
        return result.scalars().all()

    async def delete_in_group(self, group_id: uuid.UUID, webhook_id: uuid.UUID) -> bool:
        """Deletes the webhook (and, by cascade, its deliveries) if it belongs to the group."""
        result = await self.session.execute(
            delete(Webhook).where(col(Webhook.id) == webhook_id, col(Webhook.group_id) == group_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class DeliveryRepository(Repository):
    async def add(self, delivery: WebhookDelivery) -> None:
        self.session.add(delivery)
        await self.session.flush()

    async def list_for_group(
        self, group_id: uuid.UUID, *, limit: int, offset: int
    ) -> Sequence[WebhookDelivery]:
        """Deliveries of every webhook of the group, newest first."""
        result = await self.session.execute(
            select(WebhookDelivery)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(col(Webhook.group_id) == group_id)
            .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
            .limit(limit)
            .offset(offset)
        )
        return result.scalars().all()

    async def due_ids(self, *, now: datetime, limit: int) -> Sequence[uuid.UUID]:
        """Pending deliveries whose next attempt is due, oldest first (a hint: claim decides)."""
        result = await self.session.execute(
            select(col(WebhookDelivery.id))
            .where(col(WebhookDelivery.status) == DeliveryStatus.PENDING, self._due(now))
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.created_at))
            .limit(limit)
        )
        return result.scalars().all()

    async def claim(
        self, delivery_id: uuid.UUID, *, now: datetime, until: datetime
    ) -> tuple[WebhookDelivery, Webhook] | None:
        """Takes a due delivery for one attempt (counted now) until ``until``; None if not ours."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING,
                self._due(now),
            )
            .values(attempts=col(WebhookDelivery.attempts) + 1, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        found = await self.session.execute(
            select(WebhookDelivery, Webhook)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(col(WebhookDelivery.id) == delivery_id)
            .execution_options(populate_existing=True)
        )
        row = found.one_or_none()
        return None if row is None else (row[0], row[1])

    async def record(
        self,
        delivery_id: uuid.UUID,
        *,
        attempt: int,
        status: DeliveryStatus,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        delivered_at: datetime | None = None,
    ) -> bool:
        """Writes an attempt's outcome, unless a later claim has taken the delivery since."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING,
                col(WebhookDelivery.attempts) == attempt,
            )
            .values(
                status=status,
                last_status_code=status_code,
                last_error=error,
                next_attempt_at=next_attempt_at,
                delivered_at=delivered_at,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _due(now: datetime) -> ColumnElement[bool]:
        next_at = col(WebhookDelivery.next_attempt_at)
        return or_(next_at.is_(None), next_at <= now)
