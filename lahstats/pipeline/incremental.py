"""A session analysed chunk by chunk as it is recorded, and finished from what the chunks left.

    chunk ─> decode ─> voice features ─> its own turns ─> words of its inner speech   (look)
             speech running into its start or end is kept as an edge: audio and turns
    two neighbours looked at ─> the speech across their edge recognised once           (join)
    end ─> features laid end to end ─> speakers labelled once ─> words given to them ─> counts

``look`` does nearly all the work of a chunk (decoding, embeddings, recognition) and needs that
chunk alone; ``join`` recognises the speech that runs across the edge between two chunks, from
what both kept, so a word cut in half by the boundary is heard once, whole; ``assemble`` needs
only the stored results, never the audio: clustering sees every chunk's voice windows at once,
so one speaker keeps one label across the session, and every word is given anew to the speaker
of the session's turns around it. The chunk's own turns only say where speech is (and name
provisional speakers for live counts).

Pure functions of decoded audio and loaded models, and the choices that need nothing stored:
which edges a chunk's job and the end join (``edges_beside``, ``edges_needed``), which looks are
made with other models (``models_key``), and the parts the end reads the session's audio in
(``audio_parts``). ``sessions/looks.py`` stores ``ChunkResult`` and ``EdgeWords``
(``to_bytes``) and calls these.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lahstats.pipeline.diarize import (
    CHUNK_CLUSTER_HOP_FRAMES,
    EmbeddedDiarizer,
    VoiceFeatures,
    join_features,
    label,
)
from lahstats.pipeline.embed import FRAME_SECONDS, SpeakerEmbedder, complete_voices
from lahstats.pipeline.intervals import TurnIndex
from lahstats.pipeline.recognisers.common import turn_regions
from lahstats.pipeline.recognisers.pieces import cut_pieces
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import (
    SAMPLE_RATE,
    Analysis,
    Audio,
    Gap,
    Samples,
    SpeakerHints,
    Turn,
    VoiceEmbedding,
    Word,
    no_progress,
)
from lahstats.pipeline.wespeaker import window_voices

if TYPE_CHECKING:
    from lahstats.lexicon.lexicon import Lexicon
    from lahstats.pipeline.run import Models

# A chunk whose speech runs from its start to its end without a pause is cut in two where fewest
# voices speak, between these fractions of its length, so an edge never spans a whole chunk.
_CUT_FROM, _CUT_TO = 0.25, 0.75
CHUNK_SECONDS = 30.0  # what the app uploads at a time
# A speaker whose voice too few windows heard alone (``window_voices``) is embedded from their
# longest clean stretches up to this many seconds, decoding only the chunks those lie in: the
# whole of each speaker's speech in a long session meant decoding all of it at the end
# (embedding the 6 voices of 120 minutes took 360 s). WeSpeaker costs about 0.07 s per second
# of voice here: at 30 s, 5 speakers took 10.9 s of a 15 s end (`python -m
# benchmarks.incremental --one 4`).
VOICE_SECONDS = 15.0
RESULT_FORMAT = 2  # of ``to_bytes``: a look stored in another is made again (``models_key``)


@dataclass(frozen=True, slots=True, eq=False)
class Edge:
    """Speech that runs into a chunk's start (head) or end (tail): its audio and turns, chunk
    time; ``start`` is where its audio begins in the chunk."""

    start: float
    samples: Samples
    turns: tuple[Turn, ...]

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE

    @classmethod
    def none(cls, at: float) -> Edge:
        return cls(at, np.zeros(0, np.float32), ())


@dataclass(frozen=True, slots=True, eq=False)
class ChunkResult:
    """What looking at one chunk left: its voice features and the words of its inner speech
    (chunk time, the chunk's own provisional speakers), and the speech at its two edges."""

    number: int
    duration: float
    features: VoiceFeatures
    words: tuple[Word, ...]
    head: Edge
    tail: Edge
    turns: tuple[Turn, ...] = ()  # the chunk's own, provisional

    def to_bytes(self) -> bytes:
        arrays = {f"features.{name}": getattr(self.features, name) for name in _FEATURES}
        arrays["head"] = _pcm(self.head.samples)
        arrays["tail"] = _pcm(self.tail.samples)
        meta = {
            "format": RESULT_FORMAT,
            "number": self.number,
            "duration": self.duration,
            "cluster_hop": self.features.cluster_hop,
            "words": [_word_json(word) for word in self.words],
            "turns": [_turn_json(turn) for turn in self.turns],
            "head": {"start": self.head.start, "turns": [_turn_json(t) for t in self.head.turns]},
            "tail": {"start": self.tail.start, "turns": [_turn_json(t) for t in self.tail.turns]},
        }
        return _pack(meta, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkResult:
        meta, arrays = _unpack(data)
        features = VoiceFeatures(
            **{name: arrays[f"features.{name}"] for name in _FEATURES},
            cluster_hop=int(meta["cluster_hop"]),
        )
        return cls(
            number=int(meta["number"]),
            duration=float(meta["duration"]),
            features=features,
            words=tuple(_word(item) for item in meta["words"]),
            head=Edge(meta["head"]["start"], _float(arrays["head"]), _turns(meta["head"])),
            tail=Edge(meta["tail"]["start"], _float(arrays["tail"]), _turns(meta["tail"])),
            turns=tuple(_turn(item) for item in meta["turns"]),
        )


@dataclass(frozen=True, slots=True)
class EdgeWords:
    """The words heard across the edge between two chunks (``None``: the session's start or
    end), in seconds from where the left chunk's tail begins (or the right chunk's start)."""

    left: int | None
    right: int | None
    words: tuple[Word, ...]

    @property
    def key(self) -> tuple[int | None, int | None]:
        return (self.left, self.right)


def words_to_json(words: Sequence[Word]) -> str:
    return json.dumps([_word_json(word) for word in words])


def words_from_json(text: str) -> tuple[Word, ...]:
    return tuple(_word(item) for item in json.loads(text))


_FEATURES = (
    "speech",
    "overlap",
    "embeddings",
    "where",
    "starts",
    "ends",
    "voices",
    "nearest",
    "short_spans",
    "short_vectors",
)


def look(models: Models, number: int, audio: Audio) -> ChunkResult:
    """Everything about one chunk that needs its audio: features, its own turns, and the words
    of the speech that neither runs in from its start nor out at its end. Blocking."""
    diarizer = models.diarizer
    if not isinstance(diarizer, EmbeddedDiarizer):
        raise TypeError(f"chunk-by-chunk analysis needs the embedded diarizer, not {diarizer.name}")
    found = diarizer.features(audio, cluster_hop=CHUNK_CLUSTER_HOP_FRAMES)
    turns = label(found, SpeakerHints())
    head, inner, tail = _split(audio, turns)
    words: tuple[Word, ...] = ()
    if inner:
        words = models.transcriber.transcribe(audio, inner, no_progress)
    return ChunkResult(number, audio.duration, found, tuple(words), head, tail, turns)


def look_in_pieces(models: Models, number: int, pieces: Iterable[Audio]) -> ChunkResult:
    """A long chunk (a whole recording uploaded as one file) looked at a piece at a time, as if
    it had been uploaded as those pieces: each piece looked at, the speech across each edge
    between them joined, and all of it one chunk's result. Holds two pieces' audio at most,
    never the chunk's. Blocking."""
    parts: list[tuple[int, VoiceFeatures]] = []
    words: list[Word] = []
    first: ChunkResult | None = None
    last: ChunkResult | None = None
    at = last_at = 0.0
    for index, audio in enumerate(pieces):
        found = look(models, index, audio)
        if last is None:
            first = found
        else:
            between = join(models, last, found)
            words += [_moved(word, last_at + last.tail.start) for word in between.words]
        words += [_moved(word, at) for word in found.words]
        parts.append((round(at / FRAME_SECONDS), found.features))
        last, last_at = found, at
        at += found.duration
    if first is None or last is None:
        return look(models, number, Audio(np.zeros(0, np.float32)))
    features = join_features(parts)
    tail = Edge(
        last_at + last.tail.start,
        last.tail.samples,
        tuple(_moved_turn(turn, last_at) for turn in last.tail.turns),
    )
    turns = label(features, SpeakerHints())
    return ChunkResult(number, at, features, tuple(words), first.head, tail, turns)


def _split(audio: Audio, turns: Sequence[Turn]) -> tuple[Edge, tuple[Turn, ...], Edge]:
    """The head edge, the turns of the inner speech regions, and the tail edge."""
    duration = audio.duration
    regions = turn_regions(turns, duration)
    if not regions:
        return Edge.none(0.0), (), Edge.none(duration)
    head_end = regions[0][1] if regions[0][0] <= 0.0 else 0.0
    tail_start = regions[-1][0] if regions[-1][1] >= duration else duration
    if len(regions) == 1 and head_end >= duration and tail_start <= 0.0:
        # one stretch of speech from start to end: cut it where fewest voices speak
        ((_, cut), *_) = cut_pieces(
            [(0.0, duration)], turns, longest=_CUT_TO * duration, shortest=_CUT_FROM * duration
        )
        head_end = tail_start = cut
    inner = tuple(t for t in turns if head_end <= (t.start + t.end) / 2 < tail_start)
    return (
        _edge(audio, turns, 0.0, head_end),
        inner,
        _edge(audio, turns, tail_start, duration),
    )


def _edge(audio: Audio, turns: Sequence[Turn], start: float, end: float) -> Edge:
    kept = tuple(
        Turn(t.speaker, max(start, t.start), min(end, t.end))
        for t in turns
        if t.end > start and t.start < end and min(end, t.end) > max(start, t.start)
    )
    if not kept:
        return Edge.none(start if start > 0.0 else end)
    return Edge(start, np.array(audio.slice(start, end), np.float32), kept)


def join(models: Models, left: ChunkResult | None, right: ChunkResult | None) -> EdgeWords:
    """The words of the speech across the edge between ``left`` and ``right`` (either may be
    ``None``: the session's first chunk's head, the last one's tail), recognised once."""
    tail = left.tail if left is not None else Edge.none(0.0)
    head = right.head if right is not None else Edge.none(0.0)
    shift = len(tail.samples) / SAMPLE_RATE
    turns = tuple(
        [Turn(f"L{t.speaker}", t.start - tail.start, t.end - tail.start) for t in tail.turns]
        + [Turn(f"R{t.speaker}", t.start + shift, t.end + shift) for t in head.turns]
    )
    key = (None if left is None else left.number, None if right is None else right.number)
    if not turns:
        return EdgeWords(*key, ())
    audio = Audio(np.concatenate([tail.samples, head.samples]))
    words = models.transcriber.transcribe(audio, turns, no_progress)
    return EdgeWords(*key, tuple(words))


def models_key(models: Models) -> str:
    """Which models a look was made with, and in which format it is stored: a look made with
    other models or stored in another format is made again."""
    made = sorted({**models.names, "format": str(RESULT_FORMAT)}.items())
    return ",".join(f"{role}={name}" for role, name in made)


def edges_beside(numbers: Collection[int], number: int) -> list[tuple[int | None, int | None]]:
    """The edges chunk ``number``'s own job joins, of the chunks ``numbers`` there are so far
    (``number`` among them): to its neighbours before and after it in number order, and to the
    session's start when it is chunk 0. The session's end is known only at ``end``, which joins
    whatever ``edges_needed`` names and no chunk job joined."""
    ordered = sorted(numbers)
    at = ordered.index(number)
    wanted: list[tuple[int | None, int | None]] = []
    if at == 0 and number == 0:
        wanted.append((None, 0))
    if at > 0:
        wanted.append((ordered[at - 1], number))
    if at + 1 < len(ordered):
        wanted.append((number, ordered[at + 1]))
    return wanted


def edges_needed(numbers: Sequence[int]) -> list[tuple[int | None, int | None]]:
    """The edges a session of these chunk numbers has: before the first, between neighbours in
    number order (a missing number between them is a gap, as in ``decode_chunks``), after the
    last."""
    ordered = sorted(set(numbers))
    if not ordered:
        return []
    return [(None, ordered[0]), *itertools.pairwise(ordered), (ordered[-1], None)]


def assemble(
    results: Sequence[ChunkResult],
    edges: Mapping[tuple[int | None, int | None], EdgeWords],
    lexicon: Lexicon,
    hints: SpeakerHints | None = None,
    *,
    voices: bool = False,
) -> Analysis:
    """The session's analysis from its chunks' results and the words across their edges: no
    audio, no model. An edge not in ``edges`` is left out (live counts before it is heard).
    With ``voices``, each speaker's voice from the windows the looks embedded (``finish``
    embeds audio only for a speaker none of them heard alone)."""
    ordered = sorted(results, key=lambda result: result.number)
    placed = laid_end_to_end(ordered)
    offsets = {number: at for number, at, _ in placed}
    at = placed[-1][1] + placed[-1][2] if placed else 0.0
    gaps = [
        Gap(number, offsets[later.number])
        for earlier, later in itertools.pairwise(ordered)
        for number in range(earlier.number + 1, later.number)
    ]
    features = join_features(
        [(round(offsets[r.number] / FRAME_SECONDS), r.features) for r in ordered]
    )
    turns = label(features, hints or SpeakerHints())
    heard: list[Word] = []
    for result in ordered:
        heard += [_moved(word, offsets[result.number]) for word in result.words]
    by_number = {result.number: result for result in ordered}
    for (left, right), found in edges.items():
        if left is not None and left in by_number:
            start = offsets[left] + by_number[left].tail.start
        elif left is None and right in by_number:
            start = offsets[right] if right is not None else 0.0
        else:
            continue
        heard += [_moved(word, start) for word in found.words]
    heard = _given(heard, turns)
    counted = recount(heard, turns, lexicon)
    return Analysis(
        duration=at,
        turns=turns,
        words=counted.words,
        segments=counted.segments,
        counts=counted.counts,
        gaps=tuple(gaps),
        timings=dict(counted.timings),
        heard=tuple(heard),
        embeddings=window_voices(features, turns) if voices else (),
    )


def laid_end_to_end(results: Sequence[ChunkResult]) -> list[tuple[int, float, float]]:
    """``(chunk number, seconds into the session, seconds long)`` of each result, in number
    order, each starting where the one before ends (a missing number leaves no hole, as in
    ``decode_chunks``): the session's time, as ``assemble`` and ``ChunkedAudio`` both need it."""
    placed: list[tuple[int, float, float]] = []
    at = 0.0
    for result in sorted(results, key=lambda result: result.number):
        placed.append((result.number, at, result.duration))
        at += result.duration
    return placed


# a chunk, and the span of it (start, seconds) when it is long and read a span at a time
Part = tuple[int, tuple[float, float] | None]


def audio_parts(
    laid: Sequence[tuple[int, float, float]],
    long: Collection[int] = (),
    piece_seconds: float = CHUNK_SECONDS,
) -> list[tuple[Part, float, float]]:
    """The parts ``ChunkedAudio`` reads a session in: each chunk whole, a ``long`` one in spans
    of ``piece_seconds`` (read by seeking, never decoded whole); ``laid`` as
    ``laid_end_to_end``."""
    parts: list[tuple[Part, float, float]] = []
    for number, at, length in laid:
        if number not in long:
            parts.append(((number, None), at, length))
            continue
        start = 0.0
        while start < length:
            seconds = min(piece_seconds, length - start)
            parts.append(((number, (start, seconds)), at + start, seconds))
            start += piece_seconds
    return parts


def cut_into_chunks(audio: Audio, seconds: float = CHUNK_SECONDS) -> list[Audio]:
    """A recording cut as the app cuts it while recording: ``seconds`` each, the last shorter."""
    size = round(seconds * SAMPLE_RATE)
    return [Audio(audio.samples[at : at + size]) for at in range(0, len(audio.samples), size)]


def analyze_incrementally(
    models: Models, chunks: Sequence[Audio], hints: SpeakerHints | None = None
) -> Analysis:
    """A recording's decoded chunks, in order, each looked at on its own, their edges joined and
    the whole assembled: what the service does as a session is recorded and ended."""
    results = [look(models, number, audio) for number, audio in enumerate(chunks)]
    by_number: dict[int | None, ChunkResult] = {result.number: result for result in results}
    edges = {
        key: join(models, by_number.get(key[0]), by_number.get(key[1]))
        for key in edges_needed([result.number for result in results])
    }
    return assemble(results, edges, models.lexicon, hints, voices=True)


def speakers_chunk_by_chunk(
    diarizer: EmbeddedDiarizer, embedder: SpeakerEmbedder, chunks: Sequence[Audio]
) -> tuple[tuple[Turn, ...], tuple[VoiceEmbedding, ...]]:
    """Who spoke when in a recording of these chunks, and each speaker's voice, as a session
    recorded in them gets them at its end (``look``'s features, labelled together, voices from
    their windows or from at most ``VOICE_SECONDS`` of audio), without its words: what
    ``lahstats speakers calibrate`` measures."""
    parts: list[tuple[int, VoiceFeatures]] = []
    at = 0.0
    for audio in chunks:
        found = diarizer.features(audio, cluster_hop=CHUNK_CLUSTER_HOP_FRAMES)
        parts.append((round(at / FRAME_SECONDS), found))
        at += audio.duration
    features = join_features(parts)
    turns = label(features, SpeakerHints())
    whole = Audio(np.concatenate([audio.samples for audio in chunks] or [np.zeros(0, np.float32)]))
    held = window_voices(features, turns)
    return turns, complete_voices(embedder, whole, turns, held, longest=VOICE_SECONDS)


def _moved(word: Word, by: float) -> Word:
    return replace(word, start=word.start + by, end=word.end + by)


def _moved_turn(turn: Turn, by: float) -> Turn:
    return Turn(turn.speaker, turn.start + by, turn.end + by)


def _given(words: Sequence[Word], turns: Sequence[Turn]) -> list[Word]:
    """Every word given to the speaker of the session's turns around it (as the recogniser does
    with the turns it is given); the read-out's listening marks keep no speaker."""
    given = []
    index = TurnIndex(turns)
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        if not word.speaker:
            given.append(word)
            continue
        speaker = index.speaker_at(word.start, word.end)
        if speaker is not None:
            given.append(replace(word, speaker=speaker))
    return given


def _pcm(samples: Samples) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.asarray(np.clip(samples, -1.0, 1.0) * 32767.0, np.int16)


def _float(pcm: np.ndarray[Any, Any]) -> Samples:
    return np.asarray(pcm, np.float32) / np.float32(32767.0)


def _turn_json(turn: Turn) -> list[Any]:
    return [turn.speaker, turn.start, turn.end]


def _turn(item: Sequence[Any]) -> Turn:
    return Turn(str(item[0]), float(item[1]), float(item[2]))


def _turns(edge: Mapping[str, Any]) -> tuple[Turn, ...]:
    return tuple(_turn(item) for item in edge["turns"])


def _word_json(word: Word) -> list[Any]:
    return [word.text, word.start, word.end, word.speaker, word.probability, word.heard]


def _word(item: Sequence[Any]) -> Word:
    text, start, end, speaker, probability, heard = item
    return Word(str(text), float(start), float(end), str(speaker), float(probability), heard)


def _pack(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray[Any, Any]]) -> bytes:
    out = io.BytesIO()
    stored: dict[str, Any] = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays}
    np.savez_compressed(out, **stored)
    return out.getvalue()


def _unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    if meta.get("format") != RESULT_FORMAT:
        raise ValueError(f"a chunk result of format {meta.get('format')}, not {RESULT_FORMAT}")
    return meta, arrays
