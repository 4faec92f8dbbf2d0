"""A group's webhooks: registered and deleted by its owner, listed (with deliveries) by members.

A group the caller does not belong to answers ``NotFound``, like one that does not exist. The
secret is made here and returned once, by ``register``; the service never commits and never
speaks HTTP.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Conflict, NotFound
from lahstats.groups.service import GroupService
from lahstats.settings import Settings
from lahstats.storage.repositories.webhooks import DeliveryRepository, WebhookRepository
from lahstats.webhooks.schemas import (
    DeliveriesOut,
    WebhookCreatedOut,
    WebhooksOut,
    delivery_out,
    webhook_out,
)
from lahstats.webhooks.urls import Resolver, check_destination

MAX_WEBHOOKS_PER_GROUP = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    """A prefix that says what it is (secret scanners know it), then 32 random bytes in hex."""
    return SECRET_PREFIX + secrets.token_hex(32)


class WebhookService:
    def __init__(self, db: AsyncSession) -> None:
        self._db = db
        self._webhooks = WebhookRepository(db)

    async def register(
        self,
        *,
        group_id: uuid.UUID,
        caller_id: uuid.UUID,
        url: str,
        settings: Settings,
        resolver: Resolver | None = None,
    ) -> WebhookCreatedOut:
        await self._owner(group_id, caller_id, doing="register a webhook")
        clean = await check_destination(url, settings, resolver=resolver)
        existing = await self._webhooks.list_for_group(group_id)
        if any(webhook.url == clean for webhook in existing):
            raise Conflict(
                "this group already has a webhook with this url",
                hint="Each event is sent once per webhook; delete the old one to get a new secret.",
            )
        if len(existing) >= MAX_WEBHOOKS_PER_GROUP:
            raise Conflict(
                f"a group has at most {MAX_WEBHOOKS_PER_GROUP} webhooks",
                hint="Delete one you no longer use (DELETE /groups/{id}/webhooks/{webhook_id}).",
            )
        webhook = await self._webhooks.create(
            group_id=group_id, url=clean, secret=new_secret(), created_by=caller_id
        )
        return WebhookCreatedOut(
            id=webhook.id, url=webhook.url, secret=webhook.secret, created_at=webhook.created_at
        )

    async def list(self, group_id: uuid.UUID, caller_id: uuid.UUID) -> WebhooksOut:
        """The group's webhooks, without their secrets."""
        await GroupService(self._db).visible(group_id, caller_id)
        found = await self._webhooks.list_for_group(group_id)
        return WebhooksOut(webhooks=[webhook_out(webhook) for webhook in found])

    async def delete(
        self, *, group_id: uuid.UUID, webhook_id: uuid.UUID, caller_id: uuid.UUID
    ) -> None:
        await self._owner(group_id, caller_id, doing="delete a webhook")
        if not await self._webhooks.delete_in_group(group_id, webhook_id):
            raise NotFound(
                f"no webhook {webhook_id} in this group",
                hint="List the group's webhooks (GET /groups/{id}/webhooks) and use one of those.",
            )

    async def deliveries(
        self, group_id: uuid.UUID, caller_id: uuid.UUID, *, limit: int, offset: int
    ) -> DeliveriesOut:
        """A page of deliveries to the group's webhooks, newest first."""
        await GroupService(self._db).visible(group_id, caller_id)
        found = await DeliveryRepository(self._db).list_for_group(
            group_id, limit=limit + 1, offset=offset
        )
        return DeliveriesOut(
            deliveries=[delivery_out(delivery) for delivery in found[:limit]],
            limit=limit,
            offset=offset,
            next_offset=offset + limit if len(found) > limit else None,
        )

    async def _owner(self, group_id: uuid.UUID, caller_id: uuid.UUID, *, doing: str) -> None:
        await GroupService(self._db).owned(
            group_id,
            caller_id,
            doing=doing,
            hint="Ask the group's owner to do it; members can list webhooks and deliveries.",
        )
