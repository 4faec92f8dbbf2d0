"""An analysis becomes speaker rows, transcript rows and sample blobs, without a database."""

from __future__ import annotations

import uuid

import numpy as np

from lahstats.pipeline.count import segments
from lahstats.pipeline.types import (
    Analysis,
    Sample,
    SpeakerCounts,
    Turn,
    VoiceEmbedding,
    Word,
)
from lahstats.sessions.results import new_segments, new_speakers, sample_blobs, speaker_labels

SESSION = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _analysis() -> Analysis:
    turns = (
        Turn("SPEAKER_01", 0.0, 2.0),
        Turn("SPEAKER_00", 2.0, 4.0),
        Turn("SPEAKER_01", 4.0, 5.0),
    )
    words = (
        Word("walao", 0.1, 0.5, "SPEAKER_01", heard="while up"),
        Word("eh", 0.6, 0.8, "SPEAKER_01"),
        Word("can", 2.1, 2.4, "SPEAKER_00"),
        Word("lah", 2.5, 2.9, "SPEAKER_00", heard="la"),
        Word("shiok", 4.1, 4.6, "SPEAKER_01"),
    )
    return Analysis(
        duration=5.0,
        turns=turns,
        words=words,
        segments=segments(words, turns),
        counts=(
            SpeakerCounts("SPEAKER_01", {"walao": 1, "shiok": 1}),
            SpeakerCounts("SPEAKER_00", {"can": 1, "lah": 1, "meh": 0}),
        ),
        samples=(
            Sample("SPEAKER_01", b"ID3one", "audio/mpeg", 0.0, 2.0),
            Sample("SPEAKER_00", b"ID3two", "audio/mpeg", 2.0, 4.0),
        ),
        embeddings=(
            VoiceEmbedding("SPEAKER_00", np.array([0.6, 0.8], dtype=np.float32), "wespeaker"),
        ),
    )


def test_speakers_carry_counts_time_sample_and_embedding() -> None:
    analysis = _analysis()
    blobs = sample_blobs(SESSION, analysis.samples)
    rows = new_speakers(analysis, {blob.speaker: blob.key for blob in blobs})

    assert [row.label for row in rows] == ["SPEAKER_01", "SPEAKER_00"]  # first to speak first
    first, second = rows
    assert (first.segment_count, first.total_duration_seconds) == (2, 3.0)
    assert dict(first.word_counts) == {"walao": 1, "shiok": 1}
    assert dict(second.word_counts) == {"can": 1, "lah": 1}  # zero counts are not rows
    assert first.sample_storage_key == f"sessions/{SESSION}/samples/speaker_01.mp3"
    assert first.voice_embedding is None
    assert second.voice_embedding is not None
    assert np.frombuffer(second.voice_embedding, dtype=np.float32).tolist() == [
        np.float32(0.6),
        np.float32(0.8),
    ]
    assert second.embedding_model == "wespeaker"


def test_sample_blobs_are_keyed_by_speaker_under_the_session() -> None:
    blobs = sample_blobs(SESSION, _analysis().samples)
    assert [(b.speaker, b.key, b.data, b.content_type) for b in blobs] == [
        ("SPEAKER_01", f"sessions/{SESSION}/samples/speaker_01.mp3", b"ID3one", "audio/mpeg"),
        ("SPEAKER_00", f"sessions/{SESSION}/samples/speaker_00.mp3", b"ID3two", "audio/mpeg"),
    ]


def test_transcript_keeps_what_was_heard_beside_what_was_counted() -> None:
    rows = new_segments(_analysis())
    assert [(r.speaker_label, r.raw_text, r.corrected_text) for r in rows] == [
        ("SPEAKER_01", "while up eh", "walao eh"),
        ("SPEAKER_00", "can la", "can lah"),
        ("SPEAKER_01", "shiok", "shiok"),
    ]
    assert [(r.start_seconds, r.end_seconds) for r in rows] == [(0.1, 0.8), (2.1, 2.9), (4.1, 4.6)]


def test_a_speaker_known_only_from_counts_still_gets_a_row() -> None:
    analysis = Analysis(
        duration=1.0,
        turns=(),
        words=(),
        segments=(),
        counts=(SpeakerCounts("SPEAKER_07", {"lah": 2}),),
    )
    assert speaker_labels(analysis) == ("SPEAKER_07",)
    (row,) = new_speakers(analysis, {})
    assert (row.label, row.segment_count, dict(row.word_counts)) == ("SPEAKER_07", 0, {"lah": 2})
    assert row.sample_storage_key is None
