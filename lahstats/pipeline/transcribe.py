"""Speech to timed, speaker-attributed words, by whichever recogniser the settings name.

The turns say where people speak. Overlapping and nearby turns are merged into speech regions
and each region is recognised once; every word then goes to the speaker around its midpoint
(``speaker_at``: in an overlap, the voice that came in last). Recognising each turn's clip on
its own would hear the other voice of an overlap too and count its words twice (on dev with
oracle turns: F1 0.50 per turn against 0.58 per region; 0.64 per turn even with a word heard in
two turns at once kept only in the deeper one).
Audio outside every turn is never recognised, so silence and noise cannot become words.

Never downloads: a recogniser whose weights are not on disk raises ``ModelUnavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.intervals import Spans
from lahstats.pipeline.types import Audio, ProgressHook, Turn, Word, no_progress

if TYPE_CHECKING:
    from lahstats.settings import Settings

STAGE = "transcribe"
# Padded turns closer than this (seconds) are recognised together. With oracle turns larger gaps
# (1 s, 3 s) lowered F1 (0.58 -> 0.50); with the diarizer's turns, which bridge pauses, the whole
# pipeline on synthetic dev gave (gap, pad -> F1, RTF): 0.3, 0.15 -> 0.629, 0.137;
# 0.15, 0.15 -> 0.643, 0.152; 0.0, 0.15 -> 0.672, 0.191; 0.0, 0.25 -> 0.685, 0.163;
# 0.0, 0.35 -> 0.643, 0.133; -0.1, 0.25 -> 0.682, 0.178. Every region costs a full Whisper
# encoder pass, hence the RTF.
REGION_GAP = 0.0
# Audio kept on each side of a turn so the first and last syllables are not clipped; padded turns
# that touch are recognised together.
REGION_PAD = 0.25
# Turn time this long (seconds) inside a recognised region with no word in it is recognised
# again on its own: Whisper with beam search may start its transcript at a later timestamp and
# skip a whole first utterance (5 s of the two-speaker fixture). Margin: words' timestamps are
# rough, so speech this close to a word counts as heard.
UNHEARD = 1.0
HEARD_MARGIN = 0.3
# Seconds within which a turn counts as around a word (``speaker_at``). A word in an overlap went
# to the turn it lay deepest in (the voice mid-sentence) until measured: with the shipped turns
# (summed word F1, deepest -> the voice that came in last, with this slack / without it) seed 2
# of the person-distinct generator 0.836 -> 0.861 / 0.852, its seed 1 0.835 -> 0.841 / 0.841,
# the older seeds 2 and 1 0.821 -> 0.828 and 0.830 -> 0.836, dev 0.786 -> 0.797; with the
# reference turns too (0.875 -> 0.882, 0.852 -> 0.852, dev 0.794 -> 0.802).
COVER_SLACK = 0.05
# A CTranslate2 (faster-whisper) checkpoint on the model hub: weights, configs, vocabulary.
CTRANSLATE2_FILES = ("model.bin", "*.json", "vocabulary*", "tokenizer*")


class Transcriber(Protocol):
    """A loaded recogniser; ``transcribe`` returns words in recording time with speakers."""

    name: str

    def transcribe(
        self, audio: Audio, turns: tuple[Turn, ...], on_progress: ProgressHook
    ) -> tuple[Word, ...]: ...


def speech_regions(
    turns: Sequence[Turn], duration: float, *, gap: float = REGION_GAP, pad: float = REGION_PAD
) -> list[tuple[float, float]]:
    """The union of the turns, padded, with gaps shorter than ``gap`` closed."""
    spans = sorted(
        (max(0.0, turn.start - pad), min(duration, turn.end + pad))
        for turn in turns
        if turn.end > turn.start
    )
    regions: list[tuple[float, float]] = []
    for start, end in spans:
        if start >= end:
            continue
        if regions and start <= regions[-1][1] + gap:
            regions[-1] = (regions[-1][0], max(regions[-1][1], end))
        else:
            regions.append((start, end))
    return regions


def unheard(
    turns: Sequence[Turn],
    words: Sequence[Word],
    start: float,
    end: float,
    *,
    shortest: float = UNHEARD,
    margin: float = HEARD_MARGIN,
) -> list[tuple[float, float]]:
    """Stretches of ``start..end`` inside some turn but away from every word, ``shortest`` or
    longer: speech the recogniser passed over."""
    spoken = speech_regions(
        [Turn(t.speaker, max(start, t.start), min(end, t.end)) for t in turns],
        end,
        gap=0.0,
        pad=0.0,
    )
    heard = sorted((word.start - margin, word.end + margin) for word in words)
    missed: list[tuple[float, float]] = []
    for lo, hi in spoken:
        at = lo
        for h_lo, h_hi in heard:
            if h_hi <= at or h_lo >= hi:
                continue
            if h_lo - at >= shortest:
                missed.append((at, h_lo))
            at = max(at, h_hi)
        if hi - at >= shortest:
            missed.append((at, hi))
    return missed


def speaker_at(start: float, end: float, turns: Sequence[Turn] | TurnIndex) -> str | None:
    """The speaker of the turn around the middle of ``start..end``.

    Where two voices overlap there, the word belongs to the one whose turn began last: the reply
    or backchannel that came in ("Walao." over the end of someone's sentence), not the voice
    finishing. Turns within ``COVER_SLACK`` s count, as the diarizer's second voice in an overlap
    comes as runs a few frames apart. Elsewhere the turn the middle lies deepest in wins, and a
    word just outside every turn goes to the nearest one; ``None`` only when there are no turns.
    Asking about many words: pass a ``TurnIndex`` of the turns, built once.
    """
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    return index.speaker_at(start, end)


class TurnIndex:
    """Turns indexed by time, for ``speaker_at`` in O(log n) a word (``pipeline.intervals``)."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = tuple(turns)
        self._spans = Spans([(turn.start, turn.end) for turn in self.turns])

    def speaker_at(self, start: float, end: float) -> str | None:
        middle = (start + end) / 2
        covering = [self.turns[i] for i in self._spans.holding(middle, COVER_SLACK)]
        if len({turn.speaker for turn in covering}) > 1:
            return max(covering, key=lambda turn: turn.start).speaker
        best: tuple[float, str] | None = None
        for turn in (self.turns[i] for i in self._spans.nearest(middle)):
            depth = min(middle - turn.start, turn.end - middle)
            if best is None or depth > best[0]:
                best = (depth, turn.speaker)
        return None if best is None else best[1]


def load_transcriber(settings: Settings, lexicon: Lexicon) -> Transcriber:
    """The recogniser the settings name, loaded once; raises ``ModelUnavailable`` if absent."""
    from lahstats.pipeline.backends import resolve_device
    from lahstats.pipeline.hub import local_model
    from lahstats.pipeline.particles import bundled_readout, bundled_word_readout
    from lahstats.pipeline.recognisers.whisper import (
        BASE_BEAM_SIZE,
        TINY_EXAMPLE,
        WhisperRecogniser,
        bundled_base,
        bundled_tiny_en,
    )

    device = resolve_device(settings.device)
    match settings.transcriber:
        case "whisper-tiny":
            return WhisperRecogniser(
                bundled_tiny_en(),
                lexicon,
                device=device,
                name="whisper-tiny",
                hotwords=settings.transcriber_hotwords,
                example=TINY_EXAMPLE,
            )
        case "whisper-base":
            return WhisperRecogniser(
                bundled_base(settings.model_cache_dir),
                lexicon,
                device=device,
                name="whisper-base",
                hotwords=settings.transcriber_hotwords,
                beam_size=BASE_BEAM_SIZE,
                particles=(
                    (bundled_readout(), bundled_word_readout()) if settings.particle_readout else ()
                ),
            )
        case "faster-whisper":
            if not settings.transcriber_model:
                raise ModelUnavailable(
                    "faster-whisper needs a CTranslate2 model directory or hub id",
                    hint="Set LAHSTATS_TRANSCRIBER_MODEL to a directory holding model.bin or a "
                    "model hub id like Systran/faster-whisper-small.",
                )
            model_dir = local_model(
                settings.transcriber_model,
                setting="LAHSTATS_TRANSCRIBER_MODEL",
                token=settings.hf_token,
                allow_patterns=CTRANSLATE2_FILES,
                cache_dir=settings.model_cache_dir,
            )
            return WhisperRecogniser(
                model_dir,
                lexicon,
                device=device,
                name="faster-whisper",
                hotwords=settings.transcriber_hotwords,
            )
        case "transformers":
            from lahstats.pipeline.recognisers.transformers import load_transformers

            return load_transformers(settings, lexicon)


def transcribe(
    transcriber: Transcriber,
    audio: Audio,
    turns: tuple[Turn, ...],
    *,
    on_progress: ProgressHook = no_progress,
) -> tuple[Word, ...]:
    """The words said in ``turns``, in time order, each with the speaker of its turn."""
    if not turns or audio.duration == 0:
        on_progress(STAGE, 1, 1)
        return ()
    words = transcriber.transcribe(audio, turns, on_progress)
    return tuple(sorted(words, key=lambda word: (word.start, word.end)))
