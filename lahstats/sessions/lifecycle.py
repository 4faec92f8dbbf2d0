"""A session's life: started by a member, fed chunks while ``recording``, ended into
``processing``, then ``ready_for_claiming`` (or ``failed``) when the job is done.

    recording ──end──> processing ──job──> ready_for_claiming ──all claimed──> completed
                           ^                  └──job fails──> failed ──end again──┘ (retry)

This module moves sessions between states and never runs the pipeline. What the API calls
answers in the read schemas (``sessions/schemas.py``). ``end_and_queue`` and
``delete_with_audio`` commit the request's unit of work first, then queue the job (which must
see ``processing`` when it starts) or remove the blobs (a blob left behind by a failure after
the commit is harmless; rows pointing at missing blobs are not).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import Conflict, Forbidden, Unavailable
from lahstats.groups.service import GroupService
from lahstats.sessions.access import session_for_member
from lahstats.sessions.schemas import (
    EndOut,
    SessionOut,
    SessionsOut,
    StatusOut,
    TranscriptOut,
    session_out,
    status_out,
)
from lahstats.sessions.transcript import transcript
from lahstats.sessions.work import Queue, enqueue_processing
from lahstats.storage.blobs import BlobStore
from lahstats.storage.keys import session_prefix
from lahstats.storage.models import MemberRole, RecordingSession, SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    GroupRepository,
    SessionRepository,
)
from lahstats.storage.repositories.erasure import ErasureRepository
from lahstats.storage.types import utcnow

log = structlog.get_logger(__name__)

QUEUED_STAGE = "queued"


@dataclass(frozen=True, slots=True)
class Ended:
    session: RecordingSession
    queued: bool  # True when this call moved it to processing: the caller enqueues the job


class SessionService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.sessions = SessionRepository(db)

    async def start(self, *, group_id: uuid.UUID, user_id: uuid.UUID) -> SessionOut:
        await GroupService(self.db).visible(group_id, user_id)
        return session_out(await self.sessions.create(group_id=group_id, started_by=user_id))

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        group_id: uuid.UUID | None = None,
        limit: int,
        offset: int,
    ) -> SessionsOut:
        """A page of the user's sessions, newest first; of one group (404 unless a member)."""
        if group_id is not None:
            await GroupService(self.db).visible(group_id, user_id)
        found = await self.sessions.list_for_member(
            user_id, group_id=group_id, limit=limit + 1, offset=offset
        )
        return SessionsOut(
            sessions=[session_out(recording) for recording in found[:limit]],
            limit=limit,
            offset=offset,
            next_offset=offset + limit if len(found) > limit else None,
        )

    async def get(self, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionOut:
        return session_out(await session_for_member(self.db, session_id, user_id))

    async def visible(self, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Raises ``NotFound`` unless the user is a member of the session's group."""
        await session_for_member(self.db, session_id, user_id)

    async def status(self, session_id: uuid.UUID, user_id: uuid.UUID) -> StatusOut:
        return status_out(await session_for_member(self.db, session_id, user_id))

    async def transcript(self, session_id: uuid.UUID, user_id: uuid.UUID) -> TranscriptOut:
        return await transcript(self.db, session_id, user_id)

    async def end(self, session_id: uuid.UUID, user_id: uuid.UUID) -> Ended:
        """Ends recording and hands the session to processing; ending again queues nothing.

        A ``failed`` session may be ended again: it is processed once more from its chunks,
        unless retention has deleted them (``sessions/retention.py``).
        """
        recording = await session_for_member(self.db, session_id, user_id)
        if recording.status not in (SessionStatus.RECORDING, SessionStatus.FAILED):
            return Ended(recording, queued=False)
        if recording.chunks_purged_at is not None:
            raise Conflict(
                "this session's audio was deleted on "
                f"{recording.chunks_purged_at:%Y-%m-%d} (kept for a limited time after "
                "processing), so it cannot be processed again",
                hint="Record the hangout again in a new session.",
            )
        if not await ChunkRepository(self.db).list_for_session(session_id):
            raise Conflict(
                "this session has no audio chunks yet, so there is nothing to process",
                hint="Upload at least one chunk (POST /sessions/{id}/upload), then end it.",
            )
        moved = await self.sessions.transition(
            session_id,
            from_statuses=(recording.status,),
            to_status=SessionStatus.PROCESSING,
            ended_at=recording.ended_at or utcnow(),
            progress=0,
            stage=QUEUED_STAGE,
            error_message=None,
            # "Queued at": the sweep for stale sessions counts from here, not from the first end
            # (a failed session ended again would otherwise look abandoned at once).
            heartbeat_at=utcnow(),
        )
        if moved:
            await EventRepository(self.db).append(
                session_id, stage=QUEUED_STAGE, progress=0, message="waiting for a worker"
            )
        await self.db.refresh(recording)
        return Ended(recording, queued=moved)

    async def end_and_queue(
        self, session_id: uuid.UUID, user_id: uuid.UUID, queue: Queue
    ) -> EndOut:
        """``end``, committed, and the processing job queued when this call moved the session
        to ``processing``. A queue that is down loses nothing: the session is ``processing`` in
        the database, and the sweep for stale sessions queues it once the queue is back."""
        ended = await self.end(session_id, user_id)
        if ended.queued:
            await self.db.commit()  # the job must find the session processing
            try:
                await enqueue_processing(queue, session_id)
            except Unavailable as exc:
                log.warning("job not queued; the sweep will retry", error=exc.message)
        return EndOut(id=session_id, status=ended.session.status)

    async def delete_with_audio(
        self, session_id: uuid.UUID, user_id: uuid.UUID, blobs: BlobStore
    ) -> None:
        """``delete``, committed, then the session's blobs removed."""
        await self.delete(session_id, user_id)
        await self.db.commit()  # rows first: a blob left behind by a failure below is harmless
        await blobs.delete_prefix(session_prefix(session_id))

    async def delete(self, session_id: uuid.UUID, user_id: uuid.UUID) -> RecordingSession:
        """Deletes the session's rows (blobs are the caller's to remove, after the commit)."""
        recording = await session_for_member(self.db, session_id, user_id)
        if recording.started_by != user_id:
            member = await GroupRepository(self.db).member(recording.group_id, user_id)
            if member is None or member.role != MemberRole.OWNER:
                raise Forbidden(
                    "only the member who started a session, or the group's owner, may delete it"
                )
        if recording.status == SessionStatus.PROCESSING:
            raise Conflict(
                "this session is being processed",
                hint="Wait until its status is ready_for_claiming or failed, then delete it.",
            )
        await self.sessions.delete(session_id)
        await ErasureRepository(self.db).delete_session_deliveries(session_id)
        return recording
