"""Processing one session: its chunks in, speakers, counts, transcript and samples out.

    lease ─> models ─> load chunks ─> decode..count (0-85) ─> saving (85) ─> samples, voices (95)
          ─> upload samples ─> ONE transaction: speakers, transcript, session done (100)

Chunk by chunk (``LAHSTATS_INCREMENTAL``, the default), "decode..count" is ``_assemble``: the
looks the chunk jobs stored (``looks.py``), any look or edge they left undone, then clustering,
counting and the samples and voices cut from only the chunks they lie in (``pipeline/run.py``).

A run holds the session's lease (see ``lease.py``) and writes progress and results only while
it is its own, so a duplicate job or a crash pick-up never saves twice; saving replaces the
session's rows (``results.py``), so a second run leaves the same rows. A run that takes over a
session an earlier run left part-way (a killed worker, a retry) first records a ``restarted``
event at the percent clients last saw: the percent never goes backwards, it holds until the new
run passes it. What fails reaches the caller (the job, ``jobs/process.py``), which decides:
transient failures (database, storage, Redis) ``release`` the lease for another try with
backoff until ``job_max_tries``; bad audio and missing models ``fail`` the session at once with
a message for the people who recorded, and the chunks are kept. This module never decides what
the pipeline computes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from lahstats.errors import InvalidInput, NotFound
from lahstats.lexicon.lexicon import Lexicon, load_lexicon
from lahstats.pipeline.incremental import ChunkResult, Part, assemble, edges_needed
from lahstats.pipeline.run import BANDS, Models, analyze_chunks, finish_from_chunks
from lahstats.pipeline.types import Analysis, Chunk, Samples
from lahstats.runtime.threads import in_thread, on_pipeline_thread
from lahstats.sessions.lease import Lease
from lahstats.sessions.looks import ChunkWork, ModelSource, session_parts
from lahstats.sessions.progress_log import ProgressLog
from lahstats.sessions.results import save_results, store_samples
from lahstats.sessions.work import looks_at_chunks
from lahstats.speakers.autoclaim import claim_matching_voices
from lahstats.storage.models import ChunkAnalysis, SessionStatus
from lahstats.storage.repositories import (
    ChunkRepository,
    EventRepository,
    SessionRepository,
)
from lahstats.webhooks.outbox import record_status_event
from lahstats.words.custom import group_lexicon

if TYPE_CHECKING:
    from lahstats.settings import Settings
    from lahstats.storage.blobs import BlobStore
    from lahstats.storage.database import Database

log = structlog.get_logger(__name__)

# 100 means "done" and is written with the results, never by a stage still running.
_LAST_RUNNING_PERCENT = 99
# The stage of the event a run records when it takes over a session an earlier run left part-way.
RESTARTED = "restarted"


def restart_message(job_try: int) -> str:
    """What a restarted run tells clients: why, and what its percent means meanwhile."""
    why = (
        f"a dependency failed, so this is try {job_try}"
        if job_try > 1
        else "the previous run stopped before finishing (its worker was lost)"
    )
    return (
        f"processing started again from the beginning: {why}; the percent holds until this run "
        "passes it"
    )


class SessionProcessing:
    """One run (a job's try ``job_try``) of a session's processing (module docstring).

    ``run`` does it, or says why not; what fails is raised for the caller to ``release`` the
    lease (another try) or ``fail`` the session, with ``stage`` saying where it failed.
    """

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        settings: Settings,
        models: ModelSource,
        session_id: uuid.UUID,
        *,
        job_try: int,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.settings = settings
        self.models = models
        self.session_id = session_id
        self.job_try = job_try
        self.lease = Lease(database, session_id, settings)
        self.progress = ProgressLog(database, self.lease, stage="queued", percent=0)
        self.stage = "start"
        self.held = False
        self.log = log.bind(session=str(session_id), job_try=job_try)

    async def run(self) -> dict[str, Any]:
        """Processes the session if its lease can be had; returns what it did or why it did not.
        The heartbeat never outlives the call, whatever it raises."""
        self.held = await self.lease.acquire()
        if not self.held:
            return self._skip(await self._why_not_ours())
        await self._resume_progress()
        self.lease.start_heartbeat()
        try:
            return await self._process()
        finally:
            await self.lease.stop_heartbeat()

    async def fail(self, message: str) -> None:
        """Marks the session failed, if it is ours to mark; a database still down only logs."""
        try:
            if not self.held:
                self.held = await self.lease.acquire()
            if not self.held:
                return
            await self.lease.stop_heartbeat()
            async with self.database.session() as db:
                if await SessionRepository(db).fail(self.session_id, message, self.lease.token):
                    await EventRepository(db).append(
                        self.session_id,
                        stage="failed",
                        progress=self.progress.percent,
                        message=message,
                    )
                    await record_status_event(db, self.session_id)  # webhooks
        except Exception as exc:
            # The session stays processing; the sweeper will pick it up again.
            self.log.exception("could not mark the session failed", error=type(exc).__name__)

    async def release(self) -> None:
        """Gives the lease up, so another try or runner may take the session at once; a
        database still down leaves it to go stale."""
        with contextlib.suppress(Exception):
            await self.lease.release()

    async def _process(self) -> dict[str, Any]:
        self.log.info("processing started")
        self.stage = "loading models"
        models = await self.models.get()
        lexicon = await self._group_lexicon()
        skipped: dict[int, str] = {}
        if looks_at_chunks(self.settings):
            analysis, skipped = await self._assemble(models, lexicon)
        else:
            self.stage = "loading chunks"
            chunks = await self._load_chunks()
            self.stage = "decode"
            analysis = await in_thread(
                lambda hook: analyze_chunks(models, chunks, hook, lexicon=lexicon),
                self._on_progress,
            )
        self.stage = "saving"
        if self.lease.lost or not await self.lease.beat():
            return self._skip("another runner took the session over")
        sample_keys = await store_samples(self.blobs, self.session_id, analysis)
        await self.lease.stop_heartbeat()
        return await self._save(analysis, sample_keys, skipped)

    async def _assemble(self, models: Models, lexicon: Lexicon) -> tuple[Analysis, dict[int, str]]:
        """The session from what its chunk jobs stored: a chunk not yet looked at (its job still
        queued, lost, or never run) is looked at here, and so is an edge not yet joined; nothing
        already looked at is decoded or recognised again. Returns the analysis and the chunks
        that could not be used, with why."""
        self.stage = "decode"
        clock = time.perf_counter()
        spent: dict[str, float] = {}

        def lap(step: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            spent[step] = round(now - clock, 2)
            clock = now

        async with self.database.session() as db:
            rows = await ChunkRepository(db).list_for_session(self.session_id)
        if not rows:
            raise InvalidInput(
                "the recording has no audio: no chunks were uploaded",
                hint="Upload at least one chunk before ending the session.",
            )
        work = ChunkWork(self.database, self.blobs, self.session_id, models)
        looks = await work.stored()
        for done, row in enumerate(rows, start=1):
            looks[row.chunk_number] = await work.look(row, looks.get(row.chunk_number))
            await self._on_progress("decode", BANDS["decode"][1] * done, 100 * len(rows))
        numbers = {row.chunk_number for row in rows}
        skipped = {n: look.error for n, look in looks.items() if look.error and n in numbers}
        usable = [row for row in rows if looks[row.chunk_number].result is not None]
        if not usable:
            reasons = "; ".join(skipped.values())
            raise InvalidInput(
                f"no chunk of the recording could be used: {reasons}",
                hint="Record again; check that the app uploads audio.",
            )
        # the edges no chunk job joined (at least the session's last), then speakers labelled
        # over every chunk, words given to them, counted
        lap("looks")
        self.stage = "transcribe"
        await self._on_progress("transcribe", BANDS["transcribe"][0], 100)
        edges = await work.join(edges_needed([row.chunk_number for row in usable]), looks)
        lap("edges")
        self.stage = "diarize"
        await self._on_progress("diarize", BANDS["transcribe"][1] + 1, 100)
        results = [_result(looks[row.chunk_number]) for row in usable]
        analysis = await on_pipeline_thread(assemble, results, edges, lexicon, voices=True)
        lap("assemble")
        await self._on_progress("count", BANDS["count"][1], 100)
        self.stage = "sample"
        loop = asyncio.get_running_loop()
        chunks = {row.chunk_number: row for row in usable}

        def read(part: Part) -> Samples:
            number, span = part
            return asyncio.run_coroutine_threadsafe(work.read(chunks[number], span), loop).result()

        parts = session_parts(results, chunks)
        finished, decoded = await in_thread(
            lambda hook: finish_from_chunks(models, analysis, parts, read, on_progress=hook),
            self._on_progress,
        )
        lap("samples and voices")
        timings = {name: round(finished.timings.get(name, 0.0), 2) for name in ("sample", "embed")}
        self.log.info(
            "assembled from chunks",
            chunks=len(usable),
            decoded_again=decoded,
            seconds=spent | timings,
        )
        return finished, skipped

    async def _group_lexicon(self) -> Lexicon:
        """The built-in words plus the session's group's own."""
        async with self.database.session() as db:
            recording = await SessionRepository(db).get(self.session_id)
            if recording is None:
                return load_lexicon()
            return await group_lexicon(db, recording.group_id)

    async def _load_chunks(self) -> list[Chunk]:
        async with self.database.session() as db:
            rows = await ChunkRepository(db).list_for_session(self.session_id)
        chunks: list[Chunk] = []
        for row in rows:
            try:
                data = await self.blobs.get(row.storage_key)
            except NotFound as exc:
                raise InvalidInput(
                    f"chunk {row.chunk_number} is missing from storage",
                    hint="Delete this session and record again; the other chunks are unharmed.",
                ) from exc
            chunks.append(Chunk(row.chunk_number, data, name=row.content_type))
        return chunks

    async def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.stage = stage
        percent = round(100 * done / total) if total > 0 else 0
        await self.progress.report(stage, min(percent, _LAST_RUNNING_PERCENT))

    async def _save(
        self, analysis: Analysis, sample_keys: dict[str, str], skipped: Mapping[int, str]
    ) -> dict[str, Any]:
        async with self.database.session() as db:
            saved = await save_results(
                db,
                self.session_id,
                self.lease.token,
                analysis,
                sample_keys=sample_keys,
                skipped=skipped,
            )
        if saved is None:
            return self._skip("another runner took the session over before saving")
        speakers, segments = saved.speakers, saved.segments
        status = SessionStatus.READY_FOR_CLAIMING if speakers else SessionStatus.COMPLETED
        auto_claimed = await self._claim_matching_voices() if speakers else 0
        self.log.info(
            "processing done",
            speakers=speakers,
            auto_claimed=auto_claimed,
            seconds=analysis.duration,
        )
        return {
            "status": status.value,
            "speakers": speakers,
            "auto_claimed": auto_claimed,
            "segments": segments,
            "skipped_chunks": sorted(skipped),
            "duration_seconds": round(analysis.duration, 3),
        }

    async def _claim_matching_voices(self) -> int:
        """In groups that opted in, confident voice matches become claims. The results are saved
        by now: a failure here is logged and leaves the speakers to be claimed by hand."""
        try:
            async with self.database.session() as db:
                made = await claim_matching_voices(db, self.session_id, self.settings)
        except Exception as exc:
            self.log.warning("auto-claim failed", error=type(exc).__name__, exc_info=exc)
            return 0
        return len(made)

    async def _resume_progress(self) -> None:
        # A retry or a pick-up continues from the figure clients last saw: never backwards. When
        # an earlier run got part-way (a killed worker, a failed dependency), clients are told it
        # starts again, at that figure, which holds until the new run passes it.
        async with self.database.session() as db:
            recording = await SessionRepository(db).get(self.session_id)
        if recording is None:
            return
        self.progress.stage = recording.stage or "queued"
        self.progress.percent = recording.progress
        if self.progress.stage != "queued":
            await self.progress.report(
                RESTARTED, recording.progress, message=restart_message(self.job_try)
            )

    async def _why_not_ours(self) -> str:
        async with self.database.session() as db:
            recording = await SessionRepository(db).get(self.session_id)
        if recording is None:
            return "no such session"
        if recording.status != SessionStatus.PROCESSING:
            return f"the session is {recording.status.value}, not processing"
        return "another runner holds the session's lease"

    def _skip(self, reason: str) -> dict[str, Any]:
        self.log.info("processing skipped", reason=reason)
        return {"skipped": reason}


def _result(stored: ChunkAnalysis) -> ChunkResult:
    assert stored.result is not None  # only usable looks get here
    return ChunkResult.from_bytes(stored.result)
