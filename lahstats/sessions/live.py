"""Live counts while a session is recorded: what the chunks looked at so far add up to.

Each chunk's job stores its look (``sessions/looks.py``); following a recording session polls
which looks there are (digests, not results) and, whenever a look or an edge is new, reads and
parses the new looks only and assembles everything stored so far
(``pipeline.incremental.assemble``: clustering and counting, no model, no audio) into running
counts per provisional speaker and for the whole table. They are provisional: a later chunk may
move a word to another speaker, and ``end`` labels the speakers once more over every chunk.
The stream ends when the session stops recording.

Everyone at the table may follow the same session: a process keeps one feed per session followed
(``LiveFeeds``), so each look is read and parsed once and each update assembled once, however
many follow it, rather than once per follower (1.3 s of clustering at 180 minutes, and the
parsed looks, 50 MB at 3 hours, held once).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.incremental import (
    ChunkResult,
    EdgeWords,
    assemble,
    words_from_json,
)
from lahstats.runtime.threads import on_pipeline_thread
from lahstats.sessions.progress import Final, KeepAlive
from lahstats.sessions.schemas import status_out
from lahstats.storage.database import Database
from lahstats.storage.models import ChunkAnalysis, ChunkEdge, SessionStatus
from lahstats.storage.repositories import SessionRepository
from lahstats.storage.repositories.analyses import (
    ChunkAnalysisRepository,
    LookDigest,
    chunk_or_open,
    edge_source,
)
from lahstats.words.custom import group_lexicon

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
    looks: Sequence[ChunkAnalysis | LookDigest],
    edges: Sequence[ChunkEdge],
    lexicon: Lexicon,
    results: Mapping[int, ChunkResult] | None = None,
) -> LiveCounts:
    """What the stored looks and the edges joined from them add up to: ``results`` are the
    usable looks' results by chunk number (read from ``looks`` when not given). Blocking
    (clustering)."""
    digests = [look if isinstance(look, LookDigest) else LookDigest.of(look) for look in looks]
    usable = {look.chunk_number: look for look in digests if look.usable}
    if results is None:
        rows = [look for look in looks if isinstance(look, ChunkAnalysis)]
        results = {
            row.chunk_number: ChunkResult.from_bytes(row.result) for row in rows if row.result
        }
    joined = {}
    for edge in edges:
        left, right = chunk_or_open(edge.left_number), chunk_or_open(edge.right_number)
        sides = [usable.get(n) if n is not None else None for n in (left, right)]
        if edge.made_from == edge_source(*sides):
            joined[(left, right)] = EdgeWords(left, right, words_from_json(edge.words))
    # a look replaced between the poll and the read waits for the next update
    looked = [results[number] for number in usable if number in results]
    analysis = assemble(looked, joined, lexicon)
    totals: dict[str, int] = {}
    for counts in analysis.counts:
        for word, count in counts.counts.items():
            totals[word] = totals.get(word, 0) + count
    return LiveCounts(
        chunks=len(looked),
        seconds=analysis.duration,
        totals=dict(sorted(totals.items(), key=lambda item: (-item[1], item[0]))),
        speakers={counts.speaker: dict(counts.counts) for counts in analysis.counts},
        skipped=tuple(sorted(look.chunk_number for look in digests if not look.usable)),
    )


class _Parsed:
    """A follower's parsed looks, by chunk number and digest: each look is read from the
    database and parsed once, not at every update (a 3-hour session's are 50 MB)."""

    def __init__(self) -> None:
        self.results: dict[int, tuple[str, ChunkResult]] = {}

    def missing(self, digests: Sequence[LookDigest]) -> set[int]:
        return {
            look.chunk_number
            for look in digests
            if look.usable and self.results.get(look.chunk_number, ("",))[0] != look.digest
        }

    def add(self, rows: Sequence[ChunkAnalysis]) -> None:
        for row in rows:
            if row.result is not None:
                self.results[row.chunk_number] = (row.digest, ChunkResult.from_bytes(row.result))

    def of(self, digests: Sequence[LookDigest]) -> dict[int, ChunkResult]:
        """The results of these looks, as far as parsed (a look replaced since is left out)."""
        return {
            look.chunk_number: self.results[look.chunk_number][1]
            for look in digests
            if look.usable and self.results.get(look.chunk_number, ("",))[0] == look.digest
        }


# What an update is computed from: the looks' (number, digest) and the edges joined, and the
# words counted.
_State = tuple[object, ...]


class _Feed:
    """One session's live counts in this process, shared by everyone following it."""

    def __init__(self, database: Database, session_id: uuid.UUID) -> None:
        self.database = database
        self.session_id = session_id
        self.parsed = _Parsed()
        self.lock = asyncio.Lock()
        self.followers = 0
        self.latest: tuple[_State, LiveCounts] | None = None

    async def counts_for(
        self,
        state: _State,
        looks: Sequence[LookDigest],
        edges: Sequence[ChunkEdge],
        lexicon: Lexicon,
    ) -> LiveCounts:
        """The counts for ``state``: assembled by the first follower to ask, reused by the rest."""
        async with self.lock:
            if self.latest is None or self.latest[0] != state:
                missing = self.parsed.missing(looks)
                if missing:
                    async with self.database.session() as db:
                        rows = await ChunkAnalysisRepository(db).list_for_session(
                            self.session_id, missing
                        )
                    await on_pipeline_thread(self.parsed.add, rows)
                results = self.parsed.of(looks)
                counts = await on_pipeline_thread(live_counts, looks, edges, lexicon, results)
                self.latest = (state, counts)
            return self.latest[1]


class LiveFeeds:
    """The sessions followed live in this process, each with its one feed while anyone follows
    it (``runtime.resources.Runtime.live``)."""

    def __init__(self) -> None:
        self._feeds: dict[uuid.UUID, _Feed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    @contextmanager
    def following(self, database: Database, session_id: uuid.UUID) -> Iterator[_Feed]:
        feed = self._feeds.get(session_id)
        if feed is None:
            feed = self._feeds[session_id] = _Feed(database, session_id)
        feed.followers += 1
        try:
            yield feed
        finally:
            feed.followers -= 1
            if feed.followers == 0:
                del self._feeds[session_id]  # nobody follows: its parsed looks go


async def follow_live(
    database: Database,
    session_id: uuid.UUID,
    *,
    feeds: LiveFeeds | None = None,
    poll_seconds: float = POLL_SECONDS,
    keepalive_seconds: float = 15.0,
) -> AsyncIterator[LiveCounts | KeepAlive | Final]:
    """``LiveCounts`` each time a chunk's look or an edge is stored (and once at the start when
    some are), until the session stops recording (``Final``). The caller checked access.
    Followers of one session through the same ``feeds`` share its reads and assembly."""
    with (LiveFeeds() if feeds is None else feeds).following(database, session_id) as feed:
        seen: _State | None = None
        quiet_since = time.monotonic()
        lexicon: Lexicon | None = None
        while True:
            async with database.session() as db:
                recording = await SessionRepository(db).get(session_id)
                if recording is None or recording.status != SessionStatus.RECORDING:
                    yield Final(None if recording is None else status_out(recording))
                    return
                if lexicon is None:
                    lexicon = await group_lexicon(db, recording.group_id)
                repository = ChunkAnalysisRepository(db)
                looks = await repository.digests_for_session(session_id)
                edges = await repository.edges_for_session(session_id)
            state = (
                tuple((look.chunk_number, look.digest) for look in looks),
                tuple(sorted((e.left_number, e.right_number, e.made_from) for e in edges)),
                lexicon.words,
            )
            if looks and state != seen:
                seen = state
                quiet_since = time.monotonic()
                yield await feed.counts_for(state, looks, edges, lexicon)
            elif time.monotonic() - quiet_since >= keepalive_seconds:
                quiet_since = time.monotonic()
                yield KeepAlive()
            await asyncio.sleep(poll_seconds)
