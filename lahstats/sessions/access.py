"""Who may see a session: members of its group, and nobody else.

A session of another group answers exactly like a missing one, so its id leaks nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import NotFound
from lahstats.storage.models import RecordingSession
from lahstats.storage.repositories import SessionRepository


async def session_for_member(
    db: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> RecordingSession:
    recording = await SessionRepository(db).get_for_member(session_id, user_id)
    if recording is None:
        raise NotFound(f"no session {session_id}")
    return recording
