"""``/groups/{id}/webhooks``: register, list and delete a group's webhooks; read its deliveries.

The secret appears in one response only, the registration's; nothing here logs it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from lahstats.api.deps import Caller, ProcessRuntime, Webhooks
from lahstats.api.errors import error_responses
from lahstats.api.schemas import QUERY_INT_MAX
from lahstats.webhooks.schemas import DeliveriesOut, WebhookCreatedOut, WebhooksOut


class WebhookCreate(msgspec.Struct, kw_only=True):
    # The service checks the real limit (2048) and says what to do; this only bounds the body.
    url: Annotated[str, msgspec.Meta(max_length=8192)]


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
        return await webhooks.register(
            group_id=group_id, caller_id=caller.user_id, url=data.url, settings=runtime.settings
        )

    @get(summary="The group's webhooks (without their secrets)", responses=error_responses(404))
    async def list_webhooks(
        self, group_id: FromPath[uuid.UUID], caller: Caller, webhooks: Webhooks
    ) -> WebhooksOut:
        return await webhooks.list(group_id, caller.user_id)

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
        return await webhooks.deliveries(group_id, caller.user_id, limit=limit, offset=offset)
