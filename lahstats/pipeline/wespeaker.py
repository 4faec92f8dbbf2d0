"""Which windows share a voice: the WeSpeaker ResNet of pyannote's community-1 pipeline on ONNX.

The diarizer clusters speech windows with these embeddings because they tell real voices apart
far better than resemblyzer's GE2E: on the dev AMI clips windows of two different people score a
cosine near 0.0 here against 0.6-0.7 with GE2E. The model is the ORT export that moonshine-voice
compiles into ``libmoonshine.so`` (read by ``segmentation.embedded_model``, never through
moonshine's own API); its input is Kaldi's log-mel filterbank, rebuilt here in numpy. It is about
4x the cost of GE2E per window, so the diarizer embeds sparse windows with it. ``WeSpeakerVoice``
embeds a speaker's whole voice with it for voiceprints across sessions. Nothing here touches the
network.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lahstats.pipeline.backends import ort_session
from lahstats.pipeline.embed import FRAME_SECONDS
from lahstats.pipeline.segmentation import embedded_model
from lahstats.pipeline.types import SAMPLE_RATE, Samples, Turn, VoiceEmbedding

if TYPE_CHECKING:
    from lahstats.pipeline.diarize import VoiceFeatures

Vectors = npt.NDArray[np.float32]

ENCODER_NAME = "wespeaker-community1"
EMBEDDING_SIZE = 256
# torchaudio.compliance.kaldi.fbank as pyannote's WeSpeaker wrapper calls it: 80 bands, 25 ms
# Hamming frames every 10 ms, 512-point FFT, pre-emphasis 0.97, no dither, snip_edges.
_N_MELS = 80
_FRAME = 400
_HOP = 160
_N_FFT = 512
_PREEMPHASIS = 0.97
_LOW_HZ = 20.0
_BATCH = 8  # windows per run: 32 held 120 MB more activations on 2 min of audio, no faster


def _mel_banks() -> Vectors:
    """Kaldi's triangular filters on its mel scale (1127 ln(1 + f/700)), Nyquist bin left out."""
    low, high = 1127.0 * np.log1p(_LOW_HZ / 700.0), 1127.0 * np.log1p(SAMPLE_RATE / 2 / 700.0)
    step = (high - low) / (_N_MELS + 1)
    mels = 1127.0 * np.log1p(np.arange(_N_FFT // 2) * SAMPLE_RATE / _N_FFT / 700.0)
    banks = np.zeros((_N_MELS, _N_FFT // 2 + 1), np.float32)
    for band in range(_N_MELS):
        left, centre, right = (low + (band + k) * step for k in range(3))
        rise, fall = (mels - left) / (centre - left), (right - mels) / (right - centre)
        banks[band, : _N_FFT // 2] = np.maximum(0.0, np.minimum(rise, fall))
    return banks


_BANKS = _mel_banks()
_WINDOW = (0.54 - 0.46 * np.cos(2 * np.pi * np.arange(_FRAME) / (_FRAME - 1))).astype(np.float32)


def fbank_frames(samples: Samples, frames: int) -> Vectors:
    """(frames, 80) Kaldi log-mel energies every 10 ms, zero-padded or cut to ``frames`` so that
    row i lines up with row i of ``embed.mel_frames`` (within the 12 ms of their centring)."""
    wave = np.asarray(samples, np.float32)
    if len(wave) < _FRAME:
        wave = np.concatenate([wave, np.zeros(_FRAME - len(wave), np.float32)])
    count = 1 + (len(wave) - _FRAME) // _HOP
    out = np.zeros((frames, _N_MELS), np.float32)
    for lo in range(0, min(count, frames), 4096):  # bounds the FFT buffer on long recordings
        rows = np.arange(lo, min(count, frames, lo + 4096))
        # Kaldi works on 16-bit sample values; scaled a block at a time, not as a whole copy
        chunk = wave[rows[:, None] * _HOP + np.arange(_FRAME)[None, :]] * np.float32(32768.0)
        chunk = chunk - chunk.mean(axis=1, keepdims=True)
        chunk = np.concatenate(
            [chunk[:, :1] * (1 - _PREEMPHASIS), chunk[:, 1:] - _PREEMPHASIS * chunk[:, :-1]], 1
        )
        power = np.abs(np.fft.rfft(chunk * _WINDOW, n=_N_FFT, axis=1)) ** 2
        energy = power.astype(np.float32) @ _BANKS.T
        out[rows] = np.log(np.maximum(energy, np.finfo(np.float32).eps))
    return out


class WeSpeakerEncoder:
    """One unit vector per window of fbank frames (the model pools statistics over the window)."""

    name = ENCODER_NAME

    def __init__(self, session: Any) -> None:
        self._session = session

    def embed_windows(self, fbank: Vectors, starts: Sequence[int], length: int) -> Vectors:
        if len(starts) == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        need = max(starts) + length
        if len(fbank) < need:
            fbank = np.concatenate([fbank, np.zeros((need - len(fbank), _N_MELS), np.float32)])
        out = []
        for lo in range(0, len(starts), _BATCH):
            batch = np.stack([fbank[s : s + length] for s in starts[lo : lo + _BATCH]])
            batch -= batch.mean(axis=1, keepdims=True)  # pyannote centres each window's fbank
            weights = np.ones(batch.shape[:2], np.float32)
            (raw,) = self._session.run(None, {"fbank": batch, "weights": weights})
            out.append(raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9))
        return np.concatenate(out).astype(np.float32)


@lru_cache(maxsize=1)
def load_wespeaker() -> WeSpeakerEncoder:
    """The encoder, loaded once per process."""
    return WeSpeakerEncoder(ort_session(embedded_model("embedding")))


# A speaker's whole voice: 3 s windows (the length WeSpeaker is trained on), half overlapping.
VOICE_WINDOW_FRAMES = 300


class WeSpeakerVoice:
    """One unit vector per stretch of one voice: the mean of its windows' embeddings.

    What voiceprints compare across sessions: on the dev recordings the same synthetic voice in two
    recordings scores 0.82-0.97 and two different voices at most 0.31, where GE2E's ranges
    overlap (0.74-0.99 against up to 0.74); ``lahstats speakers calibrate`` measures it.
    """

    name = ENCODER_NAME

    def __init__(self, encoder: WeSpeakerEncoder) -> None:
        self.encoder = encoder

    def embed(self, samples: Samples) -> Vectors:
        frames = max(1, len(samples) // _HOP)
        fbank = fbank_frames(samples, frames)
        length = min(VOICE_WINDOW_FRAMES, frames)
        hop = max(1, length // 2)
        starts = list(range(0, max(1, frames - length + 1), hop))
        mean = self.encoder.embed_windows(fbank, starts, length).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        unit: Vectors = (mean / norm if norm > 0 else mean).astype(np.float32)
        return unit


def load_voice_embedder() -> WeSpeakerVoice:
    return WeSpeakerVoice(load_wespeaker())


# A voice from the diarizer's windows needs this many windows that heard the speaker alone (at
# the chunk looks' 0.8 s hop, about 7 s of their speech); with fewer, ``finish`` embeds their
# audio. Measured with throwaway scripts, voices made both ways for the same diarized speakers:
# - dev synthetic recordings looked at in 30 s chunks (16 same-voice pairs across recordings,
#   89 different): from 8 windows, same 0.836 lowest / 0.896 median, different up to 0.315;
#   from 15 s of audio 0.812 / 0.895 / 0.314. No false or missed match at the 0.56 threshold.
# - 16 generated conversations of 45 s (seed 7, few windows per speaker): the lowest same-voice
#   score is 0.499 from 1 window, 0.739 from 3, 0.761 from 8, 0.784 from audio; at 0.56 both
#   8 windows and audio make the same 20 false matches, all among espeak-ng's near-identical
#   voices, and no miss.
MIN_VOICE_WINDOWS = 8


def window_voices(
    found: VoiceFeatures, turns: Sequence[Turn], *, least: int = MIN_VOICE_WINDOWS
) -> tuple[VoiceEmbedding, ...]:
    """One vector per speaker from the WeSpeaker windows the diarizer already embedded: the mean
    of the clustered windows that heard that speaker alone. No audio, no model.

    A clustered window's frames are those of the GE2E windows that take their speaker from it
    (``nearest``). It counts for a speaker when every one of those frames is theirs and nobody
    else's in ``turns``; a speaker with fewer than ``least`` such windows is left out (the
    caller embeds their audio instead). The same network as ``WeSpeakerVoice``, whose 3 s
    windows it matches across recordings as well as it matches itself (see above).
    """
    names = list(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start)))
    if not names or len(found.voices) == 0 or len(found.starts) == 0:
        return ()
    number = {name: index for index, name in enumerate(names)}
    active = np.zeros((found.frames, len(names)), bool)
    for turn in turns:
        lo, hi = round(turn.start / FRAME_SECONDS), round(turn.end / FRAME_SECONDS)
        active[lo:hi, number[turn.speaker]] = True
    # each speech frame's only speaker; -1 where nobody or several speak
    alone = np.where(active.sum(axis=1) == 1, active.argmax(axis=1), -1)[found.where]
    # a GE2E window is one speaker's when no frame it covers differs from its first
    changes = np.concatenate([[0], np.cumsum(alone[1:] != alone[:-1])])
    first, last = found.starts, np.maximum(found.ends - 1, found.starts)
    pure = (changes[last] == changes[first]) & (alone[first] >= 0)
    owner = np.where(pure, alone[first], -1)
    # a clustered window is theirs when every GE2E window it labels is
    low = np.full(len(found.voices), len(names), np.int64)
    high = np.full(len(found.voices), -1, np.int64)
    np.minimum.at(low, found.nearest, owner)
    np.maximum.at(high, found.nearest, owner)
    held = np.where(low == high, low, -1)
    voices = []
    for index, name in enumerate(names):
        mine = found.voices[held == index]
        if len(mine) < max(least, 1):
            continue
        mean = mine.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            voices.append(VoiceEmbedding(name, (mean / norm).astype(np.float32), ENCODER_NAME))
    return tuple(voices)
