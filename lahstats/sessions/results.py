"""What a processed session saves: an ``Analysis`` turned into speaker rows, transcript rows,
sample blobs and the recognition a recount starts from, and saving them.

``new_speakers``, ``new_segments``, ``sample_blobs`` and ``recognition_json`` are pure functions
from pipeline values to the repositories' input types; ``store_samples`` and ``save_results``
write them (the processing job calls these, a recount the pure ones). Keys come from
``storage/keys.py``; nothing here invents a key.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.pipeline.particles import is_unwritten
from lahstats.pipeline.recognition import dump_recognition
from lahstats.pipeline.run import SAVING_PERCENT
from lahstats.pipeline.types import Analysis, Sample, Segment, Word
from lahstats.storage.blobs import BlobStore
from lahstats.storage.keys import sample_key, samples_prefix
from lahstats.storage.repositories import (
    EventRepository,
    NewSegment,
    NewSpeaker,
    RecognitionRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from lahstats.storage.repositories.analyses import ChunkAnalysisRepository
from lahstats.webhooks.outbox import record_status_event

_EXTENSIONS = {"audio/mpeg": "mp3", "audio/ogg": "ogg", "audio/wav": "wav", "audio/flac": "flac"}


@dataclass(frozen=True, slots=True)
class SampleBlob:
    """A speaker's sample clip and the key it is stored under."""

    speaker: str
    key: str
    data: bytes
    content_type: str


def speaker_labels(analysis: Analysis) -> tuple[str, ...]:
    """Every speaker the analysis mentions, in order of first appearance in time."""
    found = list(analysis.speakers)
    for speaker in [c.speaker for c in analysis.counts] + [s.speaker for s in analysis.segments]:
        if speaker not in found:
            found.append(speaker)
    return tuple(found)


def sample_blobs(session_id: uuid.UUID, samples: Sequence[Sample]) -> list[SampleBlob]:
    """One blob per speaker's sample (the first clip if a speaker somehow has two)."""
    blobs: dict[str, SampleBlob] = {}
    for sample in samples:
        extension = _EXTENSIONS.get(sample.content_type, "bin")
        blobs.setdefault(
            sample.speaker,
            SampleBlob(
                speaker=sample.speaker,
                key=sample_key(session_id, sample.speaker, extension),
                data=sample.data,
                content_type=sample.content_type,
            ),
        )
    return list(blobs.values())


def new_speakers(analysis: Analysis, sample_keys: Mapping[str, str]) -> list[NewSpeaker]:
    """A row per speaker: turns, speaking time, word counts, sample key and voice embedding."""
    counts = {c.speaker: dict(c.counts) for c in analysis.counts}
    embeddings = {e.speaker: e for e in analysis.embeddings}
    rows: list[NewSpeaker] = []
    for label in speaker_labels(analysis):
        embedding = embeddings.get(label)
        rows.append(
            NewSpeaker(
                label=label,
                segment_count=sum(1 for turn in analysis.turns if turn.speaker == label),
                total_duration_seconds=round(analysis.speaking_time(label), 3),
                word_counts={word: n for word, n in counts.get(label, {}).items() if n > 0},
                sample_storage_key=sample_keys.get(label),
                voice_embedding=(
                    np.asarray(embedding.vector, dtype=np.float32).tobytes()
                    if embedding is not None
                    else None
                ),
                embedding_model=embedding.model if embedding is not None else None,
            )
        )
    return rows


def new_segments(analysis: Analysis) -> list[NewSegment]:
    """Transcript rows: ``raw_text`` is the words as heard, ``corrected_text`` the line as counted.

    A line's words are its speaker's next words, in time order, that lie inside its span: the
    way ``pipeline.count.segments`` made the lines, so each word lands in exactly one line.
    """
    words: dict[str, list[Word]] = defaultdict(list)
    for word in sorted(analysis.words, key=lambda w: (w.start, w.end)):
        words[word.speaker].append(word)
    next_word: dict[str, int] = defaultdict(int)
    rows: list[NewSegment] = []
    for segment in sorted(analysis.segments, key=lambda s: (s.start, s.end)):
        mine = _take(words[segment.speaker], next_word, segment)
        # a particle only the read-out heard was not written: no part of the raw text
        heard = " ".join(
            (word.heard or word.text).strip() for word in mine if not is_unwritten(word)
        )
        rows.append(
            NewSegment(
                speaker_label=segment.speaker,
                start_seconds=max(0.0, segment.start),
                end_seconds=max(0.0, segment.start, segment.end),
                raw_text=heard or segment.text,
                corrected_text=segment.text,
            )
        )
    return rows


def recognition_json(analysis: Analysis) -> tuple[str, str]:
    """``(heard, turns)`` as JSON for ``session_recognitions``: what a recount starts from."""
    return dump_recognition(analysis.heard, analysis.turns)


def _take(words: list[Word], cursor: dict[str, int], segment: Segment) -> list[Word]:
    at = cursor[segment.speaker]
    while at < len(words) and words[at].start < segment.start:
        at += 1  # a word no line holds: it has no place in any transcript row
    first = at
    while at < len(words) and words[at].start <= segment.end and words[at].end <= segment.end:
        at += 1
    cursor[segment.speaker] = at
    return words[first:at]


@dataclass(frozen=True, slots=True)
class Saved:
    speakers: int
    segments: int


async def store_samples(
    blobs: BlobStore, session_id: uuid.UUID, analysis: Analysis
) -> dict[str, str]:
    """Each speaker's sample clip stored; their keys by speaker label."""
    stored = sample_blobs(session_id, analysis.samples)
    # A session processed again may have other speakers: no clip of an earlier run survives.
    await blobs.delete_prefix(samples_prefix(session_id))
    for blob in stored:
        await blobs.put(blob.key, blob.data, content_type=blob.content_type)
    return {blob.speaker: blob.key for blob in stored}


async def save_results(
    db: AsyncSession,
    session_id: uuid.UUID,
    lease_token: str,
    analysis: Analysis,
    *,
    sample_keys: Mapping[str, str],
    skipped: Mapping[int, str],
) -> Saved | None:
    """The analysis saved in the caller's transaction, replacing what an earlier run saved:
    the session finished, speakers, transcript, the recognition, an event per skipped chunk and
    ``done``, the status webhook; the chunks' looks deleted. ``None``, and nothing written, when
    ``lease_token`` no longer holds the session (another runner took it over)."""
    speakers = new_speakers(analysis, sample_keys)
    segments = new_segments(analysis)
    # First, so the row is locked and the lease checked before anything is replaced.
    if not await SessionRepository(db).finish(
        session_id, lease_token, duration_seconds=analysis.duration, speaker_count=len(speakers)
    ):
        return None
    # Webhooks, in this transaction; first, so any later claim's event comes after it.
    await record_status_event(db, session_id, speaker_count=len(speakers))
    ids = await SpeakerRepository(db).replace_for_session(session_id, speakers)
    await TranscriptRepository(db).replace_for_session(session_id, segments, ids)
    heard, turns = recognition_json(analysis)  # what a recount starts from
    await RecognitionRepository(db).replace(session_id, heard=heard, turns=turns)
    events = EventRepository(db)
    for number, why in sorted(skipped.items()):
        await events.append(
            session_id,
            stage="skipped",
            progress=SAVING_PERCENT,
            message=f"chunk {number} was left out: {why}",
        )
    # the chunks' looks hold audio at their edges: gone once the results are saved
    await ChunkAnalysisRepository(db).delete_for_session(session_id)
    await events.append(session_id, stage="done", progress=100)
    return Saved(len(speakers), len(segments))
