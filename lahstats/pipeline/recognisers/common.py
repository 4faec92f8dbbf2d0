"""What the recognisers share: the regions of speech each recognises once, the speech one passed
over, how loud a clip must be, and the signs of a decode that went wrong (a repetition loop, the
prompt said back). ``transcribe`` picks a recogniser; the recognisers import this, not it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.count import tokens
from lahstats.pipeline.types import Samples, Turn, Word

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


def turn_regions(
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
    spoken = turn_regions(
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


# A window whose text compresses this well is a repetition loop ("and I'll see you in the next
# video, and I'll see you..." 30 times after a short clip on dev): Whisper's own threshold for
# re-decoding, used here to decide what is kept.
COMPRESSION_LIMIT = 2.4


def echoes_prompt(text: str, lexicon: Lexicon) -> bool:
    """Two or more tokens, every one a tracked word: the prompt, not the speaker."""
    said = tokens(text)
    tracked = set(lexicon.words)
    return len(said) >= 2 and all(token in tracked for token in said)


QUIET_RMS = 0.01  # -40 dBFS


def audible(clip: Samples) -> Samples:
    """A very quiet clip (under -40 dBFS RMS) brought up to about -20 dBFS (at most +40 dB, peaks
    under 0.99): Whisper hears little in speech 30 dB down (a phone across the table), and only
    turns the diarizer found get here. Louder clips stay as they are: raising every clip to
    -20 dBFS cost synthetic dev F1 0.685 -> 0.648."""
    rms = float(np.sqrt(np.mean(np.square(clip, dtype=np.float64)))) if len(clip) else 0.0
    if rms < 1e-6 or rms >= QUIET_RMS:
        return clip
    gain = min(10 ** (-20 / 20) / rms, 100.0)
    peak = float(np.abs(clip).max()) * gain
    if peak > 0.99:
        gain *= 0.99 / peak
    return (clip * gain).astype(np.float32)
