"""The last stage: a few seconds of each speaker's voice, so people can tell who "SPEAKER_01" is.

Each clip comes from the speaker's longest clean stretch (their own speech that no other speaker's
turn overlaps), is centred in it, brought to one loudness with a soft limiter so it never clips,
faded in and out, and encoded as MP3 (which every browser plays) at 32 kbps mono. This stage must
never change turns or speakers, and never return a clip that lies outside the speaker's turns.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from lahstats.errors import ConfigurationError
from lahstats.pipeline.ffmpeg import run_tool, short_reason
from lahstats.pipeline.types import (
    SAMPLE_RATE,
    AudioSource,
    ProgressHook,
    Sample,
    Samples,
    Turn,
    no_progress,
)

log = structlog.get_logger(__name__)

TARGET_DBFS = -20.0  # RMS of every clip: speech at a comfortable, equal loudness
CEILING = 10 ** (-1.0 / 20)  # -1 dBFS: headroom for the overshoot MP3 decoding adds to peaks
_KNEE = 0.5  # the limiter leaves samples below this alone
_MAX_GAIN_DB = 50.0  # a clip of near-silence stays near-silent instead of becoming loud hiss
_FADE_SECONDS = 0.02
_MERGE_GAP = 0.3  # a speaker's turns closer than this are one stretch of talk
_MIN_CLEAN = 1.0  # a clean stretch shorter than this loses to a longer, slightly overlapped one
_BITRATE = "32k"
CONTENT_TYPE = "audio/mpeg"

Interval = tuple[float, float]


def cut_samples(
    audio: AudioSource,
    turns: Sequence[Turn],
    *,
    seconds: float = 5.0,
    on_progress: ProgressHook = no_progress,
) -> tuple[Sample, ...]:
    """One clip of up to ``seconds`` per speaker, speakers in order of first appearance."""
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    speakers = list(dict.fromkeys(turn.speaker for turn in ordered))
    samples: list[Sample] = []
    on_progress("sample", 0, len(speakers))
    for done, speaker in enumerate(speakers, start=1):
        window = choose_window(speaker, ordered, seconds=seconds, duration=audio.duration)
        if window is None:
            log.warning("sample.no_audio", speaker=speaker)  # every turn lies past the audio's end
        else:
            clip = shape(audio.slice(*window))
            samples.append(Sample(speaker, encode_mp3(clip), CONTENT_TYPE, *window))
        on_progress("sample", done, len(speakers))
    return tuple(samples)


def choose_window(
    speaker: str, turns: Sequence[Turn], *, seconds: float, duration: float
) -> Interval | None:
    """Where ``speaker``'s clip should be: centred in their longest clean stretch of talk.

    Falls back to the stretch least overlapped by others (as a share of its length) when no clean
    stretch is at least ``_MIN_CLEAN`` (or ``seconds``, if shorter) long.
    """
    own = [(max(0.0, t.start), min(duration, t.end)) for t in turns if t.speaker == speaker]
    stretches = _merge([(start, end) for start, end in own if end > start], gap=_MERGE_GAP)
    if not stretches:
        return None
    others = _merge([(t.start, t.end) for t in turns if t.speaker != speaker], gap=0.0)
    clean = [piece for stretch in stretches for piece in _subtract(stretch, others)]
    best = max(clean, key=_length, default=None)
    if best is None or _length(best) < min(seconds, _MIN_CLEAN):
        best = min(stretches, key=lambda s: (_overlap(s, others) / _length(s), -_length(s)))
    middle, length = (best[0] + best[1]) / 2, min(seconds, _length(best))
    return (middle - length / 2, middle + length / 2)


def shape(clip: Samples) -> Samples:
    """``clip`` at ``TARGET_DBFS`` RMS, softly limited below ``CEILING``, with short fades."""
    x = clip.astype(np.float64)
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    if rms > 0:
        gain_db = min(_MAX_GAIN_DB, TARGET_DBFS - 20 * np.log10(rms))
        x *= 10 ** (gain_db / 20)
    x = _soft_limit(x)
    fade = min(round(_FADE_SECONDS * SAMPLE_RATE), x.size // 2)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    return x.astype(np.float32)


def encode_mp3(clip: Samples) -> bytes:
    """``clip`` (16 kHz mono) as an MP3 file with a gapless header, via ffmpeg's LAME."""
    # A file, not a pipe: ffmpeg writes the Xing/LAME header (true length, gapless) only when it
    # can seek back, and browsers use it to show the right duration.
    with tempfile.TemporaryDirectory(prefix="lahstats-sample-") as folder:
        target = Path(folder) / "sample.mp3"
        run = run_tool(
            "ffmpeg",
            [
                *("-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"),
                *("-map_metadata", "-1", "-c:a", "libmp3lame", "-b:a", _BITRATE),
                *("-f", "mp3", str(target)),
            ],
            input_data=clip.astype("<f4").tobytes(),
            timeout=60.0,
            purpose="encode voice samples as MP3",
        )
        if run.returncode != 0 or not target.is_file():
            raise ConfigurationError(
                f"ffmpeg could not encode a voice sample as MP3: {short_reason(run.stderr)}",
                hint="Install an ffmpeg built with libmp3lame (`make system-deps`).",
            )
        return target.read_bytes()


def _soft_limit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # Above the knee, peaks bend smoothly towards the ceiling (tanh) instead of being cut flat,
    # so loud speech keeps its level without the crackle of hard clipping.
    magnitude = np.abs(x)
    loud = magnitude > _KNEE
    span = CEILING - _KNEE
    magnitude[loud] = _KNEE + span * np.tanh((magnitude[loud] - _KNEE) / span)
    return np.sign(x) * magnitude


def _merge(intervals: Sequence[Interval], *, gap: float) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(stretch: Interval, others: Sequence[Interval]) -> list[Interval]:
    pieces, cursor = [], stretch[0]
    for start, end in others:  # merged and sorted: no two overlap
        if end <= cursor or start >= stretch[1]:
            continue
        if start > cursor:
            pieces.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < stretch[1]:
        pieces.append((cursor, stretch[1]))
    return pieces


def _overlap(stretch: Interval, others: Sequence[Interval]) -> float:
    return sum(max(0.0, min(stretch[1], e) - max(stretch[0], s)) for s, e in others)


def _length(interval: Interval) -> float:
    return interval[1] - interval[0]
