"""Live counts: what the looks stored so far add up to, with only the edges joined from them."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np

from lahstats.pipeline.diarize import VoiceFeatures
from lahstats.pipeline.incremental import ChunkResult, Edge, words_to_json
from lahstats.pipeline.types import Word
from lahstats.sessions.live import live_counts
from lahstats.storage.models import ChunkAnalysis, ChunkEdge
from lahstats.storage.repositories.analyses import edge_source
from lahstats.words.lexicon import load_lexicon

SESSION = uuid.uuid4()


def _speech(frames: int) -> VoiceFeatures:
    """One voice talking throughout: every frame speech, windows of one vector."""
    where = np.arange(frames, dtype=np.int64)
    starts = np.arange(0, frames - 160 + 1, 50, dtype=np.int64)
    return VoiceFeatures(
        speech=np.ones(frames, bool),
        overlap=np.zeros(frames, bool),
        embeddings=np.ones((len(starts), 256), np.float32) / 16,
        where=where,
        starts=starts,
        ends=starts + 160,
        voices=np.ones((4, 256), np.float32) / 16,
        nearest=np.zeros(len(starts), np.int64),
        short_spans=np.zeros((0, 2), np.int64),
        short_vectors=np.zeros((0, 256), np.float32),
    )


def _look(number: int, words: tuple[Word, ...]) -> ChunkAnalysis:
    result = ChunkResult(number, 3.0, _speech(300), words, Edge.none(0.0), Edge.none(3.0))
    data = result.to_bytes()
    return ChunkAnalysis(
        session_id=SESSION,
        chunk_number=number,
        sha256="0" * 64,
        models="m",
        digest=hashlib.sha256(data).hexdigest(),
        result=data,
    )


def _edge(
    left: ChunkAnalysis, right: ChunkAnalysis, words: tuple[Word, ...], source: str
) -> ChunkEdge:
    return ChunkEdge(
        session_id=SESSION,
        left_number=left.chunk_number,
        right_number=right.chunk_number,
        made_from=source,
        words=words_to_json(words),
    )


def test_live_counts_add_up_the_looks_and_the_edges_joined_from_them() -> None:
    first = _look(0, (Word("lah", 0.5, 0.7, "SPEAKER_00"), Word("walao", 1.0, 1.4, "SPEAKER_00")))
    second = _look(1, (Word("lah", 1.0, 1.2, "SPEAKER_00"),))  # 4.0 s into the session
    broken = ChunkAnalysis(
        session_id=SESSION, chunk_number=2, sha256="1" * 64, models="m", digest="x", error="bad"
    )
    across = (Word("shiok", 0.1, 0.4, "LSPEAKER_00"),)
    joined = _edge(first, second, across, edge_source(first, second))
    stale = _edge(second, broken, (Word("sian", 0.1, 0.4, "L"),), "an:older-look")

    live = live_counts([first, second, broken], [joined, stale], load_lexicon())

    assert live.provisional
    assert live.chunks == 2
    assert live.seconds == 6.0
    assert live.totals == {"lah": 2, "shiok": 1, "walao": 1}  # not "sian": its edge is stale
    assert live.speakers == {"SPEAKER_00": {"lah": 2, "walao": 1, "shiok": 1}}
    assert list(live.skipped) == [2]
    assert live.to_json()["skipped_chunks"] == [2]
