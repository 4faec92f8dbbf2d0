"""Taking a session's audio chunks: checked on arrival, stored once, never silently replaced.

Rules, in the order they are checked:
- the caller must see the session (``NotFound``) and it must still be ``recording`` (``Conflict``);
- the body must be within the size cap (``PayloadTooLarge``) and be sent as audio
  (``UnsupportedMediaType``);
- the same bytes again for a stored chunk number are a harmless retry (nothing new is written);
  other bytes for a stored number are a ``Conflict``: a chunk is never replaced;
- the bytes must really be audio with at least one sample (``InvalidAudio``): probed from the
  headers, never trusted from the file name or content type;
- its decoded length must be within the cap for one chunk, and with the session's stored chunks
  within the cap for one session (``PayloadTooLarge``): what a chunk costs to process is its
  length, which a low bitrate makes far longer than its bytes suggest;
- storage that cannot take the bytes is ``Unavailable`` (503): nothing is recorded, and sending
  the same chunk again once storage is back stores it.

The blob is written before its row; a failure between the two leaves an unreferenced blob under a
content-addressed key (which a retry reuses), never a row without its audio.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import (
    Conflict,
    InvalidAudio,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from lahstats.pipeline.prober import Prober
from lahstats.sessions.access import session_for_member
from lahstats.sessions.schemas import ChunkOut
from lahstats.sessions.work import Queue, enqueue_chunk
from lahstats.storage.blobs import BlobStore
from lahstats.storage.keys import chunk_key
from lahstats.storage.models import AudioChunk, SessionStatus
from lahstats.storage.repositories import ChunkRepository

log = structlog.get_logger(__name__)

MAX_CHUNK_NUMBER = 99_999
# What phones and browsers label recordings with: audio/*, MediaRecorder's video/webm and the
# mp4 family, and octet-stream from clients that do not know (the bytes are sniffed anyway).
_ACCEPTED_TYPES = frozenset({"application/octet-stream", "video/webm", "video/mp4", "video/ogg"})
# What is stored is the type the bytes really are, whatever the client said.
_TYPE_OF_FORMAT = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "webm": "audio/webm",
    "caf": "audio/x-caf",
    "aiff": "audio/aiff",
}


@dataclass(frozen=True, slots=True)
class StoredChunk:
    chunk: AudioChunk
    created: bool  # False when these exact bytes were already stored under this number


def media_type(content_type: str | None) -> str:
    """``audio/mp4; codecs=...`` -> ``audio/mp4``; missing -> octet-stream (sniffed later)."""
    return (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()


def check_media_type(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind.startswith("audio/") or kind in _ACCEPTED_TYPES:
        return kind
    raise UnsupportedMediaType(
        f"a chunk sent as {kind!r} is not audio",
        hint="Send the recording's bytes with an audio/* content type (audio/mp4, audio/webm, "
        "audio/wav, audio/mpeg...) or application/octet-stream.",
    )


class ChunkUploads:
    """Takes a session's chunks; with ``looks`` on, queues each new one to be looked at while
    the session goes on (``queue``)."""

    def __init__(
        self,
        db: AsyncSession,
        blobs: BlobStore,
        *,
        max_bytes: int,
        max_seconds: float,
        max_session_seconds: float,
        prober: Prober,
        queue: Queue,
        looks: bool,
    ) -> None:
        self.db = db
        self.prober = prober
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.max_session_seconds = max_session_seconds
        self.queue = queue
        self.looks = looks
        self.chunks = ChunkRepository(db)

    async def upload(
        self,
        session_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        number: int,
        data: bytes,
        content_type: str | None,
        filename: str | None = None,
    ) -> ChunkOut:
        """``store``, then ``look_at``: what a client's upload answers (``created`` false for a
        retry of bytes already stored)."""
        stored = await self.store(
            session_id,
            user_id,
            number=number,
            data=data,
            content_type=content_type,
            filename=filename,
        )
        await self.look_at(stored)
        chunk = stored.chunk
        return ChunkOut(
            session_id=chunk.session_id,
            chunk_number=chunk.chunk_number,
            size_bytes=chunk.size_bytes,
            content_type=chunk.content_type,
            duration_seconds=chunk.duration_seconds,
            sha256=chunk.sha256,
            created=stored.created,
        )

    async def look_at(self, stored: StoredChunk) -> None:
        """A new chunk is committed, then queued to be looked at while the session goes on. A
        queue that is down loses nothing: ending the session looks at any chunk not yet looked
        at."""
        if not stored.created or not self.looks:
            return
        await self.db.commit()  # the job must find the chunk
        chunk = stored.chunk
        try:
            await enqueue_chunk(self.queue, chunk.session_id, chunk.chunk_number, chunk.sha256)
        except Unavailable as exc:
            log.warning("chunk job not queued; end will look at it", error=exc.message)

    async def store(
        self,
        session_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        number: int,
        data: bytes,
        content_type: str | None,
        filename: str | None = None,
    ) -> StoredChunk:
        recording = await session_for_member(self.db, session_id, user_id)
        label = f"chunk {number}" + (f" ({filename})" if filename else "")
        if recording.status != SessionStatus.RECORDING:
            raise Conflict(
                f"{label} arrived after the session ended (status {recording.status})",
                hint="Chunks are taken only while a session is recording; start a new session.",
            )
        if not 0 <= number <= MAX_CHUNK_NUMBER:
            raise InvalidAudio(
                f"chunk number {number} is out of range",
                hint=f"Number chunks 0, 1, 2... (at most {MAX_CHUNK_NUMBER}) in recording order.",
            )
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                f"{label} is {len(data):,} bytes, over the {self.max_bytes:,}-byte limit"
            )
        check_media_type(content_type)
        sha256 = hashlib.sha256(data).hexdigest()

        stored = await self.chunks.get(session_id, number)
        if stored is not None:
            return self._repeat(stored, sha256, label)
        if not data:
            raise InvalidAudio(f"{label} is empty (0 bytes)")
        info = await self.prober.probe(data, label=label)
        if info.duration <= 0:
            raise InvalidAudio(
                f"{label} holds no audio: its {info.format} header is valid but it has 0 samples",
                hint="Check that the recorder wrote audio before the chunk was sent.",
            )
        await self._check_length(session_id, label, info.duration)
        key = chunk_key(session_id, number, sha256, info.format)
        kind = _TYPE_OF_FORMAT.get(info.format, "application/octet-stream")
        try:
            await self.blobs.put(key, data, content_type=kind)
        except Unavailable as exc:
            raise Unavailable(
                f"{label} was not stored: {exc.message}",
                hint="Nothing was recorded; send the same chunk again in a moment (a retry is "
                "safe). If it keeps failing, storage needs attention: see /health.",
            ) from exc
        try:
            async with self.db.begin_nested():
                chunk = await self.chunks.add(
                    session_id=session_id,
                    chunk_number=number,
                    storage_key=key,
                    content_type=kind,
                    size_bytes=len(data),
                    sha256=sha256,
                    duration_seconds=round(info.duration, 3),
                )
        except IntegrityError:
            # Another upload of this number won the race: same bytes is a retry, else a conflict.
            winner = await self.chunks.get(session_id, number)
            if winner is None:
                raise
            if winner.storage_key != key:
                await self.blobs.delete(key)
            return self._repeat(winner, sha256, label)
        return StoredChunk(chunk, created=True)

    async def _check_length(self, session_id: uuid.UUID, label: str, seconds: float) -> None:
        # Two uploads at once may both pass the session's check: it may go over by one chunk.
        if seconds > self.max_seconds:
            raise PayloadTooLarge(
                f"{label} is {_length(seconds)} long, over the {_length(self.max_seconds)} "
                "limit for one chunk",
                hint="Split the recording into shorter chunks (30 s each) and send them under "
                "consecutive chunk numbers.",
            )
        stored = await self.chunks.total_seconds(session_id)
        if stored + seconds > self.max_session_seconds:
            raise PayloadTooLarge(
                f"{label} is {_length(seconds)} long, which would bring the session to "
                f"{_length(stored + seconds)}, over the {_length(self.max_session_seconds)} "
                "limit for one session",
                hint="End this session and record the rest in a new one.",
            )

    @staticmethod
    def _repeat(stored: AudioChunk, sha256: str, label: str) -> StoredChunk:
        if stored.sha256 == sha256:
            return StoredChunk(stored, created=False)
        raise Conflict(
            f"{label} is already stored with different audio",
            hint="A chunk is never replaced: send each new piece under the next chunk number.",
        )


def _length(seconds: float) -> str:
    """``7300.5`` -> ``"7,300.5 s (2:01:40)"``: seconds, and past a minute as a clock reads it."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    return f"{seconds:,.1f} s ({whole // 3600}:{whole % 3600 // 60:02}:{whole % 60:02})"
