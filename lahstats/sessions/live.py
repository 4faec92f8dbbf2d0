"""Live counts while a session is recorded: what the chunks looked at so far add up to.

Each chunk's job stores its look (``jobs/chunks.py``); following a recording session polls
those rows and, whenever a look or an edge is new, assembles everything stored so far
(``pipeline.incremental.assemble``: clustering and counting, no model, no audio) into running
counts per provisional speaker and for the whole table. They are provisional: a later chunk may
move a word to another speaker, and ``end`` labels the speakers once more over every chunk.
The stream ends when the session stops recording.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from lahstats.pipeline.incremental import (
    ChunkResult,
    EdgeWords,
    assemble,
    words_from_json,
)
from lahstats.sessions.progress import Final, KeepAlive
from lahstats.storage.database import Database
from lahstats.storage.models import ChunkAnalysis, ChunkEdge, SessionStatus
from lahstats.storage.repositories import SessionRepository
from lahstats.storage.repositories.analyses import (
    ChunkAnalysisRepository,
    chunk_or_open,
    edge_source,
)
from lahstats.words.custom import group_lexicon
from lahstats.words.lexicon import Lexicon

POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """Running counts of a session still being recorded; ``provisional`` always."""

    chunks: int  # chunks looked at so far
    seconds: float  # of audio they hold
    totals: Mapping[str, int]  # word -> count, over everyone
    speakers: Mapping[str, Mapping[str, int]]  # provisional speaker -> word -> count
    skipped: Sequence[int] = field(default_factory=tuple)  # chunks that could not be used
    provisional: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "provisional": self.provisional,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "totals": dict(self.totals),
            "speakers": {speaker: dict(words) for speaker, words in self.speakers.items()},
            "skipped_chunks": list(self.skipped),
        }


def live_counts(
    looks: Sequence[ChunkAnalysis], edges: Sequence[ChunkEdge], lexicon: Lexicon
) -> LiveCounts:
    """What the stored looks and the edges joined from them add up to. Blocking (clustering)."""
    usable = {look.chunk_number: look for look in looks if look.result is not None}
    results = [ChunkResult.from_bytes(look.result) for look in usable.values() if look.result]
    joined = {}
    for edge in edges:
        left, right = chunk_or_open(edge.left_number), chunk_or_open(edge.right_number)
        sides = [usable.get(n) if n is not None else None for n in (left, right)]
        if edge.made_from == edge_source(*sides):
            joined[(left, right)] = EdgeWords(left, right, words_from_json(edge.words))
    analysis = assemble(results, joined, lexicon)
    totals: dict[str, int] = {}
    for counts in analysis.counts:
        for word, count in counts.counts.items():
            totals[word] = totals.get(word, 0) + count
    return LiveCounts(
        chunks=len(results),
        seconds=analysis.duration,
        totals=dict(sorted(totals.items(), key=lambda item: (-item[1], item[0]))),
        speakers={counts.speaker: dict(counts.counts) for counts in analysis.counts},
        skipped=tuple(sorted(look.chunk_number for look in looks if look.result is None)),
    )


async def follow_live(
    database: Database,
    session_id: uuid.UUID,
    *,
    poll_seconds: float = POLL_SECONDS,
    keepalive_seconds: float = 15.0,
) -> AsyncIterator[LiveCounts | KeepAlive | Final]:
    """``LiveCounts`` each time a chunk's look or an edge is stored (and once at the start when
    some are), until the session stops recording (``Final``). The caller checked access."""
    from lahstats.jobs.analysis import on_pipeline_thread  # the pipeline's low-priority threads

    seen: tuple[object, ...] | None = None
    quiet_since = time.monotonic()
    lexicon: Lexicon | None = None
    while True:
        async with database.session() as db:
            recording = await SessionRepository(db).get(session_id)
            if recording is None or recording.status != SessionStatus.RECORDING:
                yield Final(recording)
                return
            if lexicon is None:
                lexicon = await group_lexicon(db, recording.group_id)
            repository = ChunkAnalysisRepository(db)
            looks = await repository.list_for_session(session_id)
            edges = await repository.edges_for_session(session_id)
        state = (
            tuple((look.chunk_number, look.digest) for look in looks),
            tuple(sorted((e.left_number, e.right_number, e.made_from) for e in edges)),
        )
        if looks and state != seen:
            seen = state
            quiet_since = time.monotonic()
            yield await on_pipeline_thread(live_counts, looks, edges, lexicon)
        elif time.monotonic() - quiet_since >= keepalive_seconds:
            quiet_since = time.monotonic()
            yield KeepAlive()
        await asyncio.sleep(poll_seconds)
