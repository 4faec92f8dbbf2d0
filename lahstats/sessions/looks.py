"""A session's chunks looked at as they arrive, and the edges between them joined: each stored.

    upload ─> commit ─> chunk job ─> look_at_chunk(session, n) ─> decode n, look  ─> chunk_analyses
                                                               ─> join its edges to ─> chunk_edges
                                                                  looked-at neighbours

What a look needs (``pipeline.incremental``) is that chunk's audio alone, so the work of a
session is done as it arrives and its end only assembles (``processing.py``). ``ChunkWork`` does
both halves for the chunk job (``jobs/chunks.py``) and for the end, which does whatever a chunk
job has not (still queued, lost with a killed worker, or never run): a look is made again only
when none is stored for the chunk's bytes and these models, an edge only when the looks it was
joined from changed. Rows are replaced, never added to, so running any of it twice changes
nothing. A chunk that cannot be decoded is stored with its reason, and the session is finished
without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy.exc import IntegrityError

from lahstats.errors import InvalidInput, NotFound
from lahstats.pipeline.decode import decode_bytes, decode_in_pieces, decode_span
from lahstats.pipeline.diarize import EmbeddedDiarizer
from lahstats.pipeline.incremental import (
    CHUNK_SECONDS,
    ChunkResult,
    EdgeWords,
    Part,
    audio_parts,
    edges_beside,
    join,
    laid_end_to_end,
    look,
    look_in_pieces,
    models_key,
    words_from_json,
    words_to_json,
)
from lahstats.pipeline.types import Audio, Samples
from lahstats.runtime.threads import on_pipeline_thread
from lahstats.sessions.work import looks_at_chunks
from lahstats.storage.models import AudioChunk, ChunkAnalysis, SessionStatus
from lahstats.storage.repositories import ChunkRepository, SessionRepository
from lahstats.storage.repositories.analyses import (
    ChunkAnalysisRepository,
    chunk_or_open,
    edge_source,
)

if TYPE_CHECKING:
    from lahstats.pipeline.run import Models
    from lahstats.settings import Settings
    from lahstats.storage.blobs import BlobStore
    from lahstats.storage.database import Database

log = structlog.get_logger(__name__)

# A chunk longer than the app's by half (a whole recording uploaded as one file) is looked at in
# pieces of the app's length and read a span at a time (``is_long``).
PIECE_SECONDS = CHUNK_SECONDS
LONG_CHUNK_SECONDS = 1.5 * CHUNK_SECONDS
Key = tuple[int | None, int | None]
# The looks this process is making now, by (session, chunk, its bytes, models): another job
# that needs the same look waits for it (``ChunkWork.look``). Jobs in other processes do not
# see them: there, the end job looks again, and the later look replaces the earlier.
_LOOKING: dict[tuple[uuid.UUID, int, str, str], asyncio.Future[ChunkAnalysis | None]] = {}


class ModelSource(Protocol):
    """The process's models, loaded on first use (a job's ``ModelCache``): only a run that has
    work to do waits for them."""

    async def get(self) -> Models: ...


def is_long(chunk: AudioChunk) -> bool:
    """Whether a chunk is looked at in pieces (``look_in_pieces``) and read a span at a time."""
    return (chunk.duration_seconds or 0.0) > LONG_CHUNK_SECONDS


def session_parts(
    results: Sequence[ChunkResult], chunks: Mapping[int, AudioChunk]
) -> list[tuple[Part, float, float]]:
    """The parts the end reads these chunks' audio in (``audio_parts``): a long one a span of
    ``PIECE_SECONDS`` at a time."""
    long = {number for number, chunk in chunks.items() if is_long(chunk)}
    return audio_parts(laid_end_to_end(results), long, PIECE_SECONDS)


async def look_at_chunk(
    database: Database,
    blobs: BlobStore,
    settings: Settings,
    models: ModelSource,
    session_id: uuid.UUID,
    *,
    number: int,
) -> dict[str, Any]:
    """Looks at chunk ``number`` of a session still recording and joins it to its looked-at
    neighbours (module docstring); returns what it did, or why it did nothing."""
    bound = log.bind(session=str(session_id), chunk=number)
    if not looks_at_chunks(settings):
        return {"skipped": "chunk-by-chunk processing is off"}
    async with database.session() as db:
        recording = await SessionRepository(db).get(session_id)
        rows = await ChunkRepository(db).list_for_session(session_id)
    if recording is None:
        return {"skipped": "no such session"}
    if recording.status != SessionStatus.RECORDING:
        # ended: its end job looks at every chunk not yet looked at; doing it here too would
        # only race it for the same cores
        return {"skipped": f"the session is {recording.status.value}"}
    chunks = {row.chunk_number: row for row in rows}
    if number not in chunks:
        return {"skipped": f"no chunk {number}"}
    work = ChunkWork(database, blobs, session_id, await models.get())
    started = time.perf_counter()
    looked = await work.look(chunks[number])
    wanted = edges_beside(chunks.keys(), number)
    # its neighbours' looks only: a 3-hour session's would be 50 MB read for every chunk
    looks = await work.stored({n for key in wanted for n in key if n is not None})
    joined = await work.join(wanted, looks, missing_ok=True)
    seconds = round(time.perf_counter() - started, 3)
    bound.info("chunk looked at", seconds=seconds, edges=len(joined), failed=bool(looked.error))
    return {"chunk": number, "seconds": seconds, "edges": len(joined), "error": looked.error}


class ChunkWork:
    """Looks at a session's chunks and joins their edges, storing each result."""

    def __init__(
        self, database: Database, blobs: BlobStore, session_id: uuid.UUID, models: Models
    ) -> None:
        if not isinstance(models.diarizer, EmbeddedDiarizer):
            raise TypeError("chunk-by-chunk processing needs the embedded diarizer")
        self.database = database
        self.blobs = blobs
        self.session_id = session_id
        self.models = models
        self.key = models_key(models)
        self._kept: tuple[str, bytes] | None = None

    async def stored(self, numbers: Collection[int] | None = None) -> dict[int, ChunkAnalysis]:
        """The session's stored looks (of these chunks only, when given), by chunk number."""
        async with self.database.session() as db:
            rows = await ChunkAnalysisRepository(db).list_for_session(self.session_id, numbers)
        return {row.chunk_number: row for row in rows}

    def fresh(self, chunk: AudioChunk, stored: ChunkAnalysis | None) -> bool:
        """Whether ``stored`` was made from this chunk's bytes with these models."""
        return stored is not None and stored.sha256 == chunk.sha256 and stored.models == self.key

    async def look(self, chunk: AudioChunk, stored: ChunkAnalysis | None = None) -> ChunkAnalysis:
        """The chunk's look: the stored one when fresh, the one this process is making now
        (the end job waits for the chunk job still looking at the last chunk rather than race
        it for the same cores), else made now and stored."""
        if stored is None:
            async with self.database.session() as db:
                stored = await ChunkAnalysisRepository(db).get(self.session_id, chunk.chunk_number)
        if stored is not None and self.fresh(chunk, stored):
            return stored
        key = (self.session_id, chunk.chunk_number, chunk.sha256, self.key)
        running = _LOOKING.get(key)
        if running is not None:
            await asyncio.wait({running})
            made = None if running.cancelled() else running.result()
            if made is not None:
                return made
            # that look was cancelled or failed: made here instead
        mine: asyncio.Future[ChunkAnalysis | None] = asyncio.get_running_loop().create_future()
        _LOOKING[key] = mine
        made = None
        try:
            made = await self._look(chunk)
            return made
        finally:
            mine.set_result(made)
            if _LOOKING.get(key) is mine:
                del _LOOKING[key]

    async def _look(self, chunk: AudioChunk) -> ChunkAnalysis:
        label = f"chunk {chunk.chunk_number}"
        started = time.perf_counter()
        result: bytes | None = None
        error: str | None = None
        try:
            if is_long(chunk):
                data = await self._bytes(chunk)
                pieces = (
                    Audio(samples) for samples in decode_in_pieces(data, PIECE_SECONDS, label=label)
                )
                found = await on_pipeline_thread(
                    look_in_pieces, self.models, chunk.chunk_number, pieces
                )
            else:
                samples = await self.read(chunk)
                found = await on_pipeline_thread(
                    look, self.models, chunk.chunk_number, Audio(samples)
                )
            result = found.to_bytes()
        except InvalidInput as exc:
            error = str(exc)
            log.warning("chunk skipped", session=str(self.session_id), chunk=label, error=error)
        return await self._put(
            chunk,
            result=result,
            error=error,
            seconds=time.perf_counter() - started,
        )

    async def read(self, chunk: AudioChunk, span: tuple[float, float] | None = None) -> Samples:
        """A chunk's decoded samples, or ``span`` (start, seconds) of them found by seeking;
        ``InvalidInput`` when it is gone or is not audio."""
        label = f"chunk {chunk.chunk_number}"
        data = await self._bytes(chunk)
        if span is not None:
            return await on_pipeline_thread(decode_span, data, *span, label=label)
        return await on_pipeline_thread(decode_bytes, data, label=label)

    async def _bytes(self, chunk: AudioChunk) -> bytes:
        """A chunk's stored bytes (the last chunk's kept: a long one is read a span at a time)."""
        if self._kept is not None and self._kept[0] == chunk.storage_key:
            return self._kept[1]
        try:
            data = await self.blobs.get(chunk.storage_key)
        except NotFound as exc:
            raise InvalidInput(
                f"chunk {chunk.chunk_number} is missing from storage",
                hint="The other chunks are counted; record again to count this part.",
            ) from exc
        self._kept = (chunk.storage_key, data)
        return data

    async def _put(
        self, chunk: AudioChunk, *, result: bytes | None, error: str | None, seconds: float
    ) -> ChunkAnalysis:
        stored = ChunkAnalysis(
            session_id=self.session_id,
            chunk_number=chunk.chunk_number,
            sha256=chunk.sha256,
            models=self.key,
            digest=hashlib.sha256(result or (error or "").encode()).hexdigest(),
            result=result,
            error=error,
            seconds=round(seconds, 3),
        )
        try:
            async with self.database.session() as db:
                await ChunkAnalysisRepository(db).put(stored)
        except IntegrityError:
            # another runner stored this chunk's look at the same moment: theirs stands
            log.info("chunk look stored by another runner", chunk=chunk.chunk_number)
        return stored

    async def join(
        self,
        wanted: Sequence[Key],
        looks: Mapping[int, ChunkAnalysis],
        *,
        missing_ok: bool = False,
    ) -> dict[Key, EdgeWords]:
        """The words across each wanted edge: stored when joined from the looks there are now,
        else joined and stored. An edge next to a chunk not looked at (or that failed) is left
        out with ``missing_ok``; without it, its chunk counts as absent (its edge to nothing)."""
        async with self.database.session() as db:
            stored = {
                (chunk_or_open(edge.left_number), chunk_or_open(edge.right_number)): edge
                for edge in await ChunkAnalysisRepository(db).edges_for_session(self.session_id)
            }
        joined: dict[Key, EdgeWords] = {}
        results: dict[int, ChunkResult] = {}
        for left, right in wanted:
            sides = [looks.get(n) if n is not None else None for n in (left, right)]
            present = [
                number is None or (side is not None and side.result is not None)
                for number, side in zip((left, right), sides, strict=True)
            ]
            if not all(present) and missing_ok:
                continue
            made_from = edge_source(*sides)
            edge = stored.get((left, right))
            if edge is not None and edge.made_from == made_from:
                joined[(left, right)] = EdgeWords(left, right, words_from_json(edge.words))
                continue
            pair = [
                self._result(number, looks, results) if number is not None else None
                for number in (left, right)
            ]
            found = await on_pipeline_thread(join, self.models, pair[0], pair[1])
            found = EdgeWords(left, right, found.words)  # a failed look's side joins as nothing
            await self._put_edge(found, made_from)
            joined[(left, right)] = found
        return joined

    def _result(
        self, number: int, looks: Mapping[int, ChunkAnalysis], results: dict[int, ChunkResult]
    ) -> ChunkResult | None:
        stored = looks.get(number)
        if stored is None or stored.result is None:
            return None
        if number not in results:
            results[number] = ChunkResult.from_bytes(stored.result)
        return results[number]

    async def _put_edge(self, found: EdgeWords, made_from: str) -> None:
        try:
            async with self.database.session() as db:
                await ChunkAnalysisRepository(db).put_edge(
                    self.session_id,
                    found.left,
                    found.right,
                    made_from=made_from,
                    words=words_to_json(found.words),
                )
        except IntegrityError:
            log.info("chunk edge stored by another runner", edge=found.key)
