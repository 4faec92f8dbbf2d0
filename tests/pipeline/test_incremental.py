"""Chunk-by-chunk analysis: each chunk looked at alone, edges joined, the session assembled.

The real models run once on the shipped two-voice clip cut in two inside a target word; the
rest are the pure parts (splitting a chunk at its edges, laying features end to end, storing a
look) on arrays made here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.decode import ChunkedAudio, decode_file
from lahstats.pipeline.diarize import (
    CHUNK_CLUSTER_HOP_FRAMES,
    EmbeddedDiarizer,
    VoiceFeatures,
    join_features,
)
from lahstats.pipeline.embed import _longest_first, embed_speakers
from lahstats.pipeline.incremental import (
    VOICE_SECONDS,
    ChunkResult,
    Edge,
    _split,
    assemble,
    edges_needed,
    laid_end_to_end,
    look,
    speakers_chunk_by_chunk,
)
from lahstats.pipeline.incremental import (
    analyze_incrementally as chunk_by_chunk,
)
from lahstats.pipeline.run import Models, finish, load_models
from lahstats.pipeline.types import SAMPLE_RATE, Audio, Gap, Turn, Word
from lahstats.pipeline.wespeaker import window_voices
from lahstats.settings import Settings

# Inside "lor" of "Okay lor" (5.74-6.28 s as whole-session processing hears the clip).
CUT_IN_LOR = 6.0


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return load_models(Settings(env="test", data_dir=tmp_path_factory.mktemp("m") / "var"))


def test_a_word_cut_in_half_at_a_chunk_edge_is_heard_once_and_voices_keep_one_label(
    models: Models, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    audio = decode_file(two_speakers[0])
    cut = round(CUT_IN_LOR * SAMPLE_RATE)
    first, second = Audio(audio.samples[:cut]), Audio(audio.samples[cut:])

    left = look(models, 0, first)
    right = look(models, 1, second)
    analysis = chunk_by_chunk(models, [first, second])

    # "Okay lor" runs across the cut: neither chunk recognised it alone, each kept its edge
    assert left.tail.end == pytest.approx(CUT_IN_LOR, abs=0.01)
    assert left.tail.start < CUT_IN_LOR - 0.2
    assert len(right.head.samples) > 0
    inner = [word.text.lower() for word in (*left.words, *right.words)]
    assert not any("lor" in text for text in inner)
    said = [word.text.lower().strip(",.?!") for word in analysis.words]
    assert said.count("lor") == 1, said
    pooled: dict[str, int] = {}
    for counts in analysis.counts:
        for word, count in counts.counts.items():
            pooled[word] = pooled.get(word, 0) + count
    assert pooled == {"walao": 1, "lah": 1, "lor": 1, "can": 1}
    assert analysis.duration == pytest.approx(audio.duration, abs=0.01)

    # voice A in both chunks is one speaker; voice B another
    def speaker_of(text: str) -> str:
        return next(w.speaker for w in analysis.words if w.text.lower().startswith(text))

    assert speaker_of("walao") == speaker_of("fussy") != speaker_of("tomorrow")

    # each voice from the windows the two looks embedded is its own speaker's audio voice, not
    # the other's (a 16 s clip gives each voice under MIN_VOICE_WINDOWS windows: least=1 here)
    joined = join_features([(0, left.features), (round(CUT_IN_LOR / 0.01), right.features)])
    from_windows = {v.speaker: v.vector for v in window_voices(joined, analysis.turns, least=1)}
    from_audio = {
        v.speaker: v.vector
        for v in embed_speakers(models.embedder, audio, analysis.turns)
        if v.speaker in from_windows
    }
    assert len(from_windows) == 2, from_windows.keys()
    for speaker, vector in from_windows.items():
        other = next(name for name in from_audio if name != speaker)
        assert float(vector @ from_audio[speaker]) > 0.8
        assert float(vector @ from_audio[speaker]) > float(vector @ from_audio[other]) + 0.3
    # what the end step finishes from: the windows' voices where there are enough, else audio
    finished = finish(models, audio, analysis, with_samples=False)
    assert {e.speaker for e in finished.embeddings} == set(analysis.speakers)


def test_a_recorded_sessions_voices_come_from_windows_and_audio_only_where_too_few(
    models: Models, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    audio = decode_file(two_speakers[0])
    cut = round(CUT_IN_LOR * SAMPLE_RATE)
    chunks = [Audio(audio.samples[:cut]), Audio(audio.samples[cut:])]
    assert isinstance(models.diarizer, EmbeddedDiarizer)

    turns, voices = speakers_chunk_by_chunk(models.diarizer, models.embedder, chunks)

    found = {voice.speaker: voice.vector for voice in voices}
    assert set(found) == {turn.speaker for turn in turns}
    assert len(found) == 2
    features = join_features(
        [
            (0, models.diarizer.features(chunks[0], cluster_hop=CHUNK_CLUSTER_HOP_FRAMES)),
            (cut // 160, models.diarizer.features(chunks[1], cluster_hop=CHUNK_CLUSTER_HOP_FRAMES)),
        ]
    )
    from_windows = {v.speaker: v.vector for v in window_voices(features, turns)}
    from_audio = {
        v.speaker: v.vector
        for v in embed_speakers(models.embedder, audio, turns, longest=VOICE_SECONDS)
    }
    # A speaks long enough to be heard alone in MIN_VOICE_WINDOWS windows; B does not
    assert len(from_windows) == 1
    for speaker, vector in found.items():
        expected = from_windows.get(speaker, from_audio[speaker])
        assert np.allclose(vector, expected, atol=1e-5), speaker
    # and the voice from windows is its speaker's, not the other espeak voice's (0.65 alike)
    ((speaker, vector),) = from_windows.items()
    other = next(name for name in from_audio if name != speaker)
    assert float(vector @ from_audio[speaker]) > float(vector @ from_audio[other]) + 0.1


def _features(frames: int, speech: slice, windows: int, voices: int) -> VoiceFeatures:
    mask = np.zeros(frames, bool)
    mask[speech] = True
    where = np.flatnonzero(mask).astype(np.int64)
    starts = np.arange(windows, dtype=np.int64)
    return VoiceFeatures(
        speech=mask,
        overlap=np.zeros(frames, bool),
        embeddings=np.ones((windows, 256), np.float32),
        where=where,
        starts=starts,
        ends=np.minimum(starts + 5, len(where)),
        voices=np.ones((voices, 256), np.float32),
        nearest=np.minimum(starts, voices - 1),
        short_spans=np.array([[speech.start, speech.start + 2]], np.int64),
        short_vectors=np.ones((1, 256), np.float32),
    )


def test_features_laid_end_to_end_keep_each_windows_frames_and_voice() -> None:
    a = _features(100, slice(10, 30), windows=3, voices=2)
    b = _features(101, slice(0, 50), windows=4, voices=3)  # one frame longer than its room

    joined = join_features([(0, a), (100, b)])

    assert joined.frames == 201
    assert joined.speech[10:30].all()
    assert joined.speech[100:150].all()
    assert joined.speech.sum() == 20 + 50
    covers = joined.covers
    assert len(covers) == 7 == len(joined.embeddings) == len(joined.nearest)
    assert covers[0].tolist() == list(range(10, 15))
    assert covers[3].tolist() == list(range(100, 105))  # b's first window, in b's frames
    assert joined.nearest.tolist() == [0, 1, 1, 2, 3, 4, 4]  # b's windows point at b's voices
    assert joined.short_spans.tolist() == [[10, 12], [100, 102]]


def test_a_chunk_splits_into_its_edges_and_the_speech_between() -> None:
    audio = Audio(np.zeros(10 * SAMPLE_RATE, np.float32))
    turns = (
        Turn("A", 0.0, 1.5),  # runs in from the start
        Turn("B", 3.0, 4.0),
        Turn("A", 6.0, 7.0),
        Turn("B", 9.0, 10.0),  # runs out at the end
    )

    head, inner, tail = _split(audio, turns)

    assert (head.start, head.end) == (0.0, pytest.approx(1.75))
    assert head.turns == (Turn("A", 0.0, 1.5),)
    assert inner == (Turn("B", 3.0, 4.0), Turn("A", 6.0, 7.0))
    assert (tail.start, tail.end) == (8.75, pytest.approx(10.0))
    assert tail.turns == (Turn("B", 9.0, 10.0),)


def test_speech_from_a_chunks_start_to_its_end_is_cut_where_fewest_voices_speak() -> None:
    audio = Audio(np.zeros(10 * SAMPLE_RATE, np.float32))
    turns = (Turn("A", 0.0, 4.1), Turn("B", 4.3, 10.0))  # 0.2 s apart: one padded region

    head, inner, tail = _split(audio, turns)

    assert inner == ()
    assert head.end == pytest.approx(tail.start)
    assert 4.1 <= tail.start <= 4.3  # in the pause, not inside a word
    assert head.turns == (Turn("A", 0.0, 4.1),)
    assert tail.turns == (Turn("B", 4.3, 10.0),)


def test_silence_leaves_no_edges() -> None:
    head, inner, tail = _split(Audio(np.zeros(SAMPLE_RATE, np.float32)), ())
    assert len(head.samples) == len(tail.samples) == 0
    assert inner == ()


def test_edges_are_between_neighbours_in_number_order_and_at_both_ends() -> None:
    assert edges_needed([3, 0, 1, 5]) == [(None, 0), (0, 1), (1, 3), (3, 5), (5, None)]
    assert edges_needed([2]) == [(None, 2), (2, None)]
    assert edges_needed([]) == []


def test_a_stored_look_reads_back_the_same() -> None:
    found = _features(300, slice(20, 200), windows=5, voices=2)
    tail = np.linspace(-1, 1, 1600, dtype=np.float32)
    result = ChunkResult(
        number=4,
        duration=3.0,
        features=found,
        words=(Word("lah", 1.0, 1.2, "SPEAKER_00", 0.9, heard="la"),),
        head=Edge.none(0.0),
        tail=Edge(2.9, tail, (Turn("SPEAKER_01", 2.9, 3.0),)),
        turns=(Turn("SPEAKER_00", 0.2, 2.0), Turn("SPEAKER_01", 2.9, 3.0)),
    )

    back = ChunkResult.from_bytes(result.to_bytes())

    assert (back.number, back.duration, back.words, back.turns) == (
        4,
        3.0,
        result.words,
        result.turns,
    )
    for name in ("speech", "where", "starts", "ends", "embeddings", "nearest", "short_spans"):
        assert np.array_equal(getattr(back.features, name), getattr(found, name)), name
    assert back.tail.start == 2.9
    assert back.tail.turns == result.tail.turns
    assert np.abs(back.tail.samples - tail).max() < 1e-4  # 16-bit
    assert len(back.head.samples) == 0


def test_chunked_audio_decodes_only_the_chunks_a_slice_falls_in() -> None:
    pieces = [np.full(SAMPLE_RATE * 2, number, np.float32) for number in range(5)]
    read: list[int] = []

    def decode(number: int) -> np.ndarray[Any, Any]:
        read.append(number)
        return pieces[number]

    audio = ChunkedAudio([(n, 2.0 * n, 2.0) for n in range(5)], decode, keep=2)

    clip = audio.slice(3.0, 5.0)

    assert audio.duration == 10.0
    assert np.array_equal(clip, np.concatenate(pieces)[3 * SAMPLE_RATE : 5 * SAMPLE_RATE])
    assert read == [1, 2]
    audio.slice(4.5, 4.6)
    assert read == [1, 2]  # kept
    audio.slice(8.0, 9.0)
    audio.slice(2.0, 2.5)
    assert read == [1, 2, 4, 1]  # at most two kept: 1 was dropped for 4


def test_a_voice_from_the_longest_clean_stretches_first() -> None:
    stretches = [(0.0, 2.0), (5.0, 15.0), (20.0, 24.0)]
    assert _longest_first(stretches, 12.0) == [(5.0, 15.0), (20.0, 22.0)]
    assert _longest_first(stretches, 100.0) == stretches


def test_chunks_lie_end_to_end_and_a_missing_number_is_a_gap() -> None:
    def result(number: int, seconds: float) -> ChunkResult:
        frames = round(seconds * 100)
        return ChunkResult(
            number,
            seconds,
            _features(frames, slice(0, frames), windows=3, voices=3),
            (Word("lah", 0.5, 0.7, "SPEAKER_00"),),
            Edge.none(0.0),
            Edge.none(seconds),
        )

    chunks = [result(2, 2.0), result(0, 3.0), result(5, 1.5)]

    assert laid_end_to_end(chunks) == [(0, 0.0, 3.0), (2, 3.0, 2.0), (5, 5.0, 1.5)]
    analysis = assemble(chunks, {}, load_lexicon())
    assert analysis.duration == 6.5
    assert analysis.gaps == (Gap(1, 3.0), Gap(3, 5.0), Gap(4, 5.0))
    assert [word.start for word in analysis.heard] == [0.5, 3.5, 5.5]
