"""Sessions holding one of everything a session can own, made the way the app makes them, and a
census of every row that names a session: what the deletion tests delete and then count.

Chunks go through the upload route and the end route (queue events); the rest is what a finished
job writes (speakers with samples, counts, transcript, recognition) plus a webhook delivery; claims
go through the claim route. The census walks ``SQLModel.metadata``, so a table added later is
counted without anyone remembering to add it here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import SQLModel

from lahstats.storage.database import Database
from lahstats.storage.keys import sample_key
from lahstats.storage.models import (
    ChunkAnalysis,
    SessionRecognition,
    SessionStatus,
    Webhook,
    WebhookDelivery,
)
from lahstats.storage.repositories import (
    NewSegment,
    NewSpeaker,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from tests.api.audio import tone
from tests.api.conftest import Api, User

COUNTS = {
    "SPEAKER_00": {"lah": 3, "walao": 1},
    "SPEAKER_01": {"lah": 2, "shiok": 4},
    "SPEAKER_02": {"can": 1, "sia": 2},
    "SPEAKER_03": {"lor": 5},
    "SPEAKER_04": {"meh": 1},
}


@dataclass(frozen=True)
class FullSession:
    id: str
    group: dict[str, Any]
    speakers: dict[str, str]  # label -> speaker id

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)


async def full_session(
    api: Api,
    owner: User,
    group: dict[str, Any],
    *,
    claims: Mapping[str, tuple[User, dict[str, Any]]] | None = None,
) -> FullSession:
    """A processed session of ``group`` started by ``owner``; ``claims``: label -> (claimer,
    claim body without speaker_id)."""
    sid = (await api.session(owner, group))["id"]
    session_id = uuid.UUID(sid)
    for number in range(2):
        put = await api.client.put(
            f"/sessions/{sid}/chunks/{number}",
            content=tone(1.0 + number),
            headers={**owner.headers, "Content-Type": "audio/wav"},
        )
        assert put.status_code == 201, put.text
    ended = await api.client.post(f"/sessions/{sid}/end", headers=owner.headers)
    assert ended.status_code == 202, ended.text
    for label in COUNTS:
        await api.runtime.blobs.put(
            sample_key(session_id, label), tone(5.0, fmt="FLAC"), content_type="audio/flac"
        )
    async with api.runtime.database.session() as db:
        ids = await SpeakerRepository(db).replace_for_session(
            session_id,
            [
                NewSpeaker(
                    label=label,
                    segment_count=2,
                    total_duration_seconds=10.0,
                    word_counts=counts,
                    sample_storage_key=sample_key(session_id, label),
                )
                for label, counts in COUNTS.items()
            ],
        )
        await TranscriptRepository(db).replace_for_session(
            session_id,
            [
                NewSegment(label, 2.0 * i, 2.0 * i + 1.5, f"{label} said la", f"{label} said lah")
                for i, label in enumerate(COUNTS)
            ],
            ids,
        )
        db.add(SessionRecognition(session_id=session_id, heard="[]", turns="[]"))
        # what chunk jobs leave while a session records (dropped when it is processed)
        await ChunkAnalysisRepository(db).put(
            ChunkAnalysis(
                session_id=session_id,
                chunk_number=0,
                sha256="0" * 64,
                models="test",
                digest="d",
                result=b"look",
            )
        )
        await ChunkAnalysisRepository(db).put_edge(session_id, None, 0, made_from="-:d", words="[]")
        hook = Webhook(group_id=uuid.UUID(group["id"]), url="http://127.0.0.1:9/", secret="k" * 32)
        db.add(hook)
        await db.flush()
        db.add(
            WebhookDelivery(
                webhook_id=hook.id,
                session_id=session_id,
                event="session.ready_for_claiming",
                payload="{}",
            )
        )
        assert await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.PROCESSING],
            to_status=SessionStatus.READY_FOR_CLAIMING,
            progress=100,
            stage="done",
            duration_seconds=20.0,
            processed_at=datetime.now(UTC),
        )
    speakers = {label: str(speaker_id) for label, speaker_id in ids.items()}
    for label, (claimer, body) in (claims or {}).items():
        claimed = await api.client.post(
            f"/sessions/{sid}/claim",
            json={"speaker_id": speakers[label], **body},
            headers=claimer.headers,
        )
        assert claimed.status_code == 200, claimed.text
    return FullSession(sid, group, speakers)


async def census(database: Database, session_id: uuid.UUID) -> dict[str, int]:
    """Rows per table that name the session: a ``session_id`` column (foreign key or not), a
    foreign key to ``sessions``, or a foreign key to one of the session's speakers."""
    async with database.session() as db:
        speaker_ids = [
            row[0]
            for row in await db.execute(
                select(SQLModel.metadata.tables["session_speakers"].c.id).where(
                    SQLModel.metadata.tables["session_speakers"].c.session_id == session_id
                )
            )
        ]
        found: dict[str, int] = {}
        for table in SQLModel.metadata.sorted_tables:
            naming: list[ColumnElement[bool]] = []
            if table.name == "sessions":
                naming.append(table.c.id == session_id)
            if "session_id" in table.c:
                naming.append(table.c.session_id == session_id)
            for key in table.foreign_keys:
                if key.column.table.name == "sessions":
                    naming.append(key.parent == session_id)
                elif key.column.table.name == "session_speakers" and speaker_ids:
                    naming.append(key.parent.in_(speaker_ids))
            if naming:
                count = await db.scalar(select(func.count()).select_from(table).where(or_(*naming)))
                found[table.name] = int(count or 0)
        return found


def stored_files(storage_dir: Path, session_id: uuid.UUID) -> list[Path]:
    return sorted(p for p in (storage_dir / "sessions" / str(session_id)).rglob("*") if p.is_file())
