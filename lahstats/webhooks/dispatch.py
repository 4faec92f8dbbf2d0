"""Sending webhook deliveries: the outbox's other half, in every process, beside every job.

    pending ──claim (attempts+1, next_attempt_at pushed past the send)──> POST, signed
       ▲                                                                   │
       └── not 2xx / no answer: next_attempt_at = now + backoff ───────────┤
                                         2xx ──> delivered       attempts == max ──> failed

A pass takes the due deliveries, claims each with a conditional update (so two processes never
both send one) and sends the claimed ones side by side, each bounded by
``webhook_timeout_seconds``. Redirects are not followed: a receiver registers its final URL. A
crash between claim and outcome leaves the delivery to be sent again when its claim runs out;
receivers deduplicate on ``X-LahStats-Delivery``. Nothing here touches a session or a job, and no
secret, signature or URL is logged.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog

from lahstats import __version__
from lahstats.errors import InvalidInput
from lahstats.runtime.periodic import Periodic
from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import DeliveryStatus, Webhook, WebhookDelivery
from lahstats.storage.repositories.webhooks import DeliveryRepository
from lahstats.storage.types import utcnow
from lahstats.webhooks.signing import signed_headers
from lahstats.webhooks.urls import Resolver, target

log = structlog.get_logger(__name__)

BATCH_SIZE = 20
# A claim lasts the send's timeout plus this, for the database round trips around it.
CLAIM_MARGIN_SECONDS = 10
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600
ERROR_MAX_LENGTH = 500
RESPONSE_SNIPPET_BYTES = 200


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send did; ``status`` is the delivery's status after it."""

    delivery_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    status_code: int | None
    error: str | None


def retry_delay(attempts: int) -> float:
    """10 s, 20 s, 40 s ... after the ``attempts``-th failure, at most an hour; each up to a fifth
    sooner, so the retries of deliveries that failed together (a receiver down) spread out."""
    base = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return float(base * random.uniform(0.8, 1.0))  # noqa: S311 - jitter, not a secret


def new_client(settings: Settings) -> httpx.AsyncClient:
    # trust_env=False: no proxy from the environment, so the address checked is the one reached.
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": f"LahStats-Webhooks/{__version__}"},
    )


async def deliver_due(
    database: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    resolver: Resolver | None = None,
) -> list[Attempt]:
    """One pass: sends every delivery due at ``now`` (default: now) that this pass could claim."""
    now = now or utcnow()
    async with database.session() as db:
        due = await DeliveryRepository(db).due_ids(now=now, limit=BATCH_SIZE)
    results = await asyncio.gather(
        *(
            _deliver(database, settings, client, delivery_id, now=now, resolver=resolver)
            for delivery_id in due
        ),
        return_exceptions=True,
    )
    attempts: list[Attempt] = []
    for result in results:
        if isinstance(result, BaseException):
            # The database failed around a send: the claim runs out and the delivery is retried.
            log.warning("webhook delivery not recorded", error=type(result).__name__)
        elif result is not None:
            attempts.append(result)
    return attempts


async def _deliver(
    database: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    delivery_id: uuid.UUID,
    *,
    now: datetime,
    resolver: Resolver | None,
) -> Attempt | None:
    until = now + timedelta(seconds=settings.webhook_timeout_seconds + CLAIM_MARGIN_SECONDS)
    async with database.session() as db:
        claimed = await DeliveryRepository(db).claim(delivery_id, now=now, until=until)
    if claimed is None:
        return None  # another pass took it
    delivery, webhook = claimed
    status_code, error = await _send(client, settings, delivery, webhook, resolver)
    finished = utcnow()
    if error is None:
        status, next_at = DeliveryStatus.DELIVERED, None
    elif delivery.attempts >= settings.webhook_max_attempts:
        status, next_at = DeliveryStatus.FAILED, None
    else:
        status = DeliveryStatus.PENDING
        next_at = finished + timedelta(seconds=retry_delay(delivery.attempts))
    async with database.session() as db:
        await DeliveryRepository(db).record(
            delivery.id,
            attempt=delivery.attempts,
            status=status,
            status_code=status_code,
            error=error,
            next_attempt_at=next_at,
            delivered_at=finished if status is DeliveryStatus.DELIVERED else None,
        )
    (log.info if error is None else log.warning)(
        "webhook delivery attempted",
        delivery=str(delivery.id),
        webhook=str(webhook.id),
        webhook_event=delivery.event,
        attempt=delivery.attempts,
        status=status.value,
        status_code=status_code,
    )
    return Attempt(delivery.id, status, delivery.attempts, status_code, error)


async def _send(
    client: httpx.AsyncClient,
    settings: Settings,
    delivery: WebhookDelivery,
    webhook: Webhook,
    resolver: Resolver | None,
) -> tuple[int | None, str | None]:
    """POSTs the delivery; (status code, None) on a 2xx, else (status code or None, why not)."""
    body = delivery.payload.encode()
    timeout = settings.webhook_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            where = await target(webhook.url, settings, resolver=resolver)
            headers = {
                "Content-Type": "application/json",
                **where.headers,
                **signed_headers(
                    webhook.secret, body, event=delivery.event, delivery_id=delivery.id
                ),
            }
            async with client.stream(
                "POST",
                where.url,
                content=body,
                headers=headers,
                extensions=where.extensions,
                follow_redirects=False,
            ) as response:
                if response.is_success:
                    return response.status_code, None
                return response.status_code, _refusal(response, await _snippet(response))
    except InvalidInput as exc:
        return None, _short(f"not sent: {exc.message}")
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        return None, _short(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except Exception as exc:
        log.exception("webhook send crashed", delivery=str(delivery.id), error=type(exc).__name__)
        return None, f"internal error while sending ({type(exc).__name__})"


def _refusal(response: httpx.Response, snippet: str) -> str:
    if response.is_redirect:
        return (
            f"HTTP {response.status_code}: redirects are not followed; register the URL it "
            "points to instead"
        )
    return _short(f"HTTP {response.status_code}" + (f": {snippet}" if snippet else ""))


async def _snippet(response: httpx.Response) -> str:
    """The start of the receiver's answer (why it refused), read no further than needed."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= RESPONSE_SNIPPET_BYTES:
            break
    return " ".join(data[:RESPONSE_SNIPPET_BYTES].decode("utf-8", "replace").split())


def _short(text: str) -> str:
    return text if len(text) <= ERROR_MAX_LENGTH else text[: ERROR_MAX_LENGTH - 1] + "…"


class Dispatcher:
    """Runs ``deliver_due`` at start-up and then every ``webhook_poll_seconds`` (sooner while a
    backlog lasts); the loop survives a database outage."""

    def __init__(
        self, database: Database, settings: Settings, *, client: httpx.AsyncClient | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self._client = client
        self._owns_client = client is None
        self._loop = Periodic("webhook-dispatcher", self._dispatch, settings.webhook_poll_seconds)

    def start(self) -> None:
        if self._client is None:
            self._client = new_client(self.settings)
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _dispatch(self) -> bool:
        """One pass; True while a full batch was sent (more may be due at once)."""
        assert self._client is not None
        try:
            sent = len(await deliver_due(self.database, self.settings, self._client))
        except Exception as exc:
            # The database is down: the next pass tries again.
            log.warning("webhook dispatch pass failed", error=type(exc).__name__)
            return False
        return sent >= BATCH_SIZE
