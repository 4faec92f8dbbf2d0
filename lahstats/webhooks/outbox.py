"""The outbox: a session's status change writes its webhook deliveries in the same transaction.

So an event is recorded if and only if the change is committed, and sending (``dispatch.py``)
happens later, outside every job and request. The payload says what happened to which session and
nothing more: no transcript, no names, no word counts. Recording an event never fails the caller:
it runs in a savepoint, and an error there is logged and the event dropped.
"""

from __future__ import annotations

import json
import uuid

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.storage.models import RecordingSession, SessionStatus, WebhookDelivery
from lahstats.storage.repositories import SessionRepository, SpeakerRepository
from lahstats.storage.repositories.webhooks import DeliveryRepository, WebhookRepository
from lahstats.storage.types import utcnow

log = structlog.get_logger(__name__)

READY_FOR_CLAIMING = "session.ready_for_claiming"
FAILED = "session.failed"
COMPLETED = "session.completed"
EVENT_BY_STATUS = {
    SessionStatus.READY_FOR_CLAIMING: READY_FOR_CLAIMING,
    SessionStatus.FAILED: FAILED,
    SessionStatus.COMPLETED: COMPLETED,
}


async def record_status_event(
    db: AsyncSession, session_id: uuid.UUID, *, speaker_count: int | None = None
) -> list[WebhookDelivery]:
    """Records the event of the status the session has just reached (none for other statuses).

    The one-line hook for code that has just moved a session, inside its transaction.
    ``speaker_count``: when the caller knows it before the speakers are saved.
    """
    recording = await SessionRepository(db).get(session_id)
    if recording is None or recording.status not in EVENT_BY_STATUS:
        return []
    return await record_session_event(
        db, recording, EVENT_BY_STATUS[recording.status], speaker_count=speaker_count
    )


async def record_session_event(
    db: AsyncSession,
    session: RecordingSession,
    event: str,
    *,
    speaker_count: int | None = None,
) -> list[WebhookDelivery]:
    """Adds one pending delivery per webhook of the session's group, in the caller's transaction.

    ``speaker_count`` defaults to the speakers saved for the session.
    """
    try:
        async with db.begin_nested():
            return await _record(db, session, event, speaker_count)
    except SQLAlchemyError as exc:
        log.exception(
            "webhook event not recorded",
            session=str(session.id),
            webhook_event=event,
            error=type(exc).__name__,
        )
        return []


async def _record(
    db: AsyncSession, session: RecordingSession, event: str, speaker_count: int | None
) -> list[WebhookDelivery]:
    webhooks = await WebhookRepository(db).list_for_group(session.group_id)
    if not webhooks:
        return []
    if speaker_count is None:
        speaker_count = len(await SpeakerRepository(db).list_for_session(session.id))
    now = utcnow()
    about = {
        "id": str(session.id),
        "status": session.status.value,
        "error_message": session.error_message,
        "speaker_count": speaker_count,
        "duration_seconds": session.duration_seconds,
    }
    deliveries = DeliveryRepository(db)
    recorded = []
    for webhook in webhooks:
        delivery_id = uuid.uuid4()
        payload = {
            "id": str(delivery_id),
            "event": event,
            "occurred_at": now.isoformat(),
            "group_id": str(session.group_id),
            "session": about,
        }
        delivery = WebhookDelivery(
            id=delivery_id,
            webhook_id=webhook.id,
            session_id=session.id,
            event=event,
            payload=json.dumps(payload, separators=(",", ":")),
            next_attempt_at=now,
            created_at=now,
        )
        await deliveries.add(delivery)
        recorded.append(delivery)
    return recorded
