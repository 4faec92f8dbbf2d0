"""Voice embeddings: resemblyzer's GE2E speaker encoder, one L2-normalised 256-d vector per voice.

The diarizer embeds sliding windows with it and ``embed_speakers`` gives each speaker of a
recording one vector, which ``lahstats.speakers`` later compares across sessions. The weights ship
inside the ``resemblyzer`` package and are read from its directory: the package itself is never
imported (its audio module needs ``webrtcvad`` and ``pkg_resources``), and nothing here reaches
for the network. Loading goes through one cache so the diarizer and the embedder share a model.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.backends import package_file
from lahstats.pipeline.types import (
    SAMPLE_RATE,
    AudioSource,
    ProgressHook,
    Samples,
    Turn,
    VoiceEmbedding,
    no_progress,
)

if TYPE_CHECKING:
    from lahstats.settings import Settings

Vectors = npt.NDArray[np.float32]

ENCODER_NAME = "resemblyzer-ge2e"
EMBEDDING_SIZE = 256
# resemblyzer's front end (hparams.py): 40 mel bands over 25 ms windows every 10 ms, and
# "partial utterances" of 160 frames (1.6 s), the length the encoder was trained on.
FRAME_SECONDS = 0.01
_HOP = round(SAMPLE_RATE * FRAME_SECONDS)
_N_FFT = 400
_N_MELS = 40
WINDOW_FRAMES = 160
_BATCH = 16  # windows per forward pass: bounds memory (64 cost 50 MB more, no faster)

# What ``embed_speakers`` keeps of a speaker's turns: the edges of a turn are where another
# voice most often overlaps, and a voice with under a second of clean speech keeps its overlaps.
_EDGE_TRIM = 0.15
_MIN_CLEAN_SECONDS = 1.0


# Frames computed at once: bounds the spectrogram's buffers (librosa's complex STFT of a whole
# 2-hour session alone was 1.1 GB) without changing a value.
_BLOCK_FRAMES = 8192


def mel_frames(samples: Samples) -> Vectors:
    """The encoder's input for a whole waveform: (frames, 40) mel power, one frame per 10 ms.

    librosa's centred frames, computed a block at a time: frame ``i`` is the ``_N_FFT`` samples
    around sample ``i * _HOP`` of the waveform zero-padded by half a frame at either end, so
    each block's frames are the whole waveform's, whatever the block size."""
    import librosa

    count = 1 + len(samples) // _HOP
    half = _N_FFT // 2
    out = np.empty((count, _N_MELS), np.float32)
    for lo in range(0, count, _BLOCK_FRAMES):
        hi = min(count, lo + _BLOCK_FRAMES)
        first, last = lo * _HOP - half, (hi - 1) * _HOP + half  # the block's samples
        piece = samples[max(0, first) : min(len(samples), last)]
        before = max(0, -first)
        piece = np.pad(piece, (before, last - first - before - len(piece)))
        mel = librosa.feature.melspectrogram(
            y=piece, sr=SAMPLE_RATE, n_fft=_N_FFT, hop_length=_HOP, n_mels=_N_MELS, center=False
        )
        out[lo:hi] = mel.T[: hi - lo]
    return out


class VoiceEncoder(Protocol):
    name: str

    def embed_windows(self, mel: Vectors, starts: Sequence[int]) -> Vectors:
        """One unit vector per window of ``WINDOW_FRAMES`` mel frames starting at each index."""
        ...

    def embed(self, samples: Samples) -> npt.NDArray[np.float32]:
        """One unit vector for a stretch of one voice (the mean of its windows)."""
        ...


class GE2EEncoder:
    """resemblyzer's 3-layer LSTM encoder (``voice_encoder.py``), rebuilt around its weights."""

    name = ENCODER_NAME

    def __init__(self, network: Any) -> None:
        self._network = network

    def embed_windows(self, mel: Vectors, starts: Sequence[int]) -> Vectors:
        import torch

        if len(starts) == 0:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        padded = mel
        need = max(starts) + WINDOW_FRAMES
        if len(mel) < need:  # a recording shorter than one window is zero-padded, as resemblyzer
            padded = np.concatenate([mel, np.zeros((need - len(mel), _N_MELS), np.float32)])
        out = []
        with torch.inference_mode():
            for lo in range(0, len(starts), _BATCH):
                batch = np.stack([padded[s : s + WINDOW_FRAMES] for s in starts[lo : lo + _BATCH]])
                out.append(self._network(torch.from_numpy(batch)).numpy())
        return np.concatenate(out).astype(np.float32)

    def embed(self, samples: Samples) -> npt.NDArray[np.float32]:
        mel = mel_frames(samples)
        hop = WINDOW_FRAMES // 2
        starts = list(range(0, max(1, len(mel) - WINDOW_FRAMES + 1), hop))
        return unit(self.embed_windows(mel, starts).mean(axis=0))


def unit(vector: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


@lru_cache(maxsize=1)
def load_ge2e() -> GE2EEncoder:
    """The encoder, loaded once per process and shared by the diarizer and the embedder."""
    import torch

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(_N_MELS, 256, 3, batch_first=True)
            self.linear = torch.nn.Linear(256, EMBEDDING_SIZE)

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            raw = torch.relu(self.linear(hidden[-1]))
            unit: torch.Tensor = raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-8)
            return unit

    weights = package_file("resemblyzer", "resemblyzer", "pretrained.pt")
    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    network = Network()
    # the checkpoint also holds GE2E's training-only similarity scale; nothing else may differ
    missing, unexpected = network.load_state_dict(checkpoint["model_state"], strict=False)
    if missing or set(unexpected) - {"similarity_weight", "similarity_bias"}:
        raise ModelUnavailable(
            f"resemblyzer's weights do not fit the encoder (missing {missing})",
            hint="Install resemblyzer 0.1.x: `pip install 'resemblyzer>=0.1.4,<0.2'`.",
        )
    network.eval()
    return GE2EEncoder(network)


class SpeakerEmbedder(Protocol):
    """Whole voices to vectors; ``name`` says which space they live in."""

    name: str

    def embed(self, samples: Samples) -> npt.NDArray[np.float32]: ...


def load_embedder(settings: Settings) -> SpeakerEmbedder:
    """The speaker embedder: the pyannote pipeline's own embedding model when that diarizer runs
    (loaded once, shared with it), else WeSpeaker, which tells voices apart across recordings
    where GE2E does not. Each names its space, and voices of two spaces are never compared."""
    if settings.diarizer == "pyannote":
        from lahstats.pipeline.pyannote import load_pyannote

        return load_pyannote(settings).voice_embedder()
    from lahstats.pipeline.wespeaker import load_voice_embedder

    return load_voice_embedder()


def embed_speakers(
    embedder: SpeakerEmbedder,
    audio: AudioSource,
    turns: Sequence[Turn],
    *,
    longest: float | None = None,
    only: Collection[str] | None = None,
    on_progress: ProgressHook = no_progress,
) -> tuple[VoiceEmbedding, ...]:
    """One vector per speaker (of ``only`` when given), from the parts of their turns where
    nobody else talks; with ``longest``, from at most that many seconds of them, the longest
    stretches first (a long session's end step decodes only those)."""
    speakers = [
        speaker
        for speaker in dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start))
        if only is None or speaker in only
    ]
    found = []
    for done, speaker in enumerate(speakers):
        on_progress("embed", done, len(speakers))
        own = [t for t in turns if t.speaker == speaker]
        others = [t for t in turns if t.speaker != speaker]
        clean = _clean_stretches(own, others)
        if sum(end - start for start, end in clean) < _MIN_CLEAN_SECONDS:
            clean = [(t.start, t.end) for t in own]
        if longest is not None:
            clean = _longest_first(clean, longest)
        pieces = [audio.slice(start, end) for start, end in clean]
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        if len(samples) == 0:
            continue
        found.append(VoiceEmbedding(speaker, embedder.embed(samples), embedder.name))
    on_progress("embed", len(speakers), len(speakers))
    return tuple(found)


def complete_voices(
    embedder: SpeakerEmbedder,
    audio: AudioSource,
    turns: Sequence[Turn],
    held: Sequence[VoiceEmbedding] = (),
    *,
    longest: float | None = None,
    on_progress: ProgressHook = no_progress,
) -> tuple[VoiceEmbedding, ...]:
    """Every speaker's voice: those of ``held`` in the embedder's space kept (voices from the
    diarizer's windows), the other speakers' embedded from their audio (``embed_speakers``)."""
    kept = tuple(voice for voice in held if voice.model == embedder.name)
    others = {turn.speaker for turn in turns} - {voice.speaker for voice in kept}
    return kept + embed_speakers(
        embedder, audio, turns, longest=longest, only=others, on_progress=on_progress
    )


def _longest_first(
    stretches: Sequence[tuple[float, float]], seconds: float
) -> list[tuple[float, float]]:
    """The longest stretches adding up to ``seconds`` (the last one cut), in time order."""
    kept: list[tuple[float, float]] = []
    left = seconds
    for start, end in sorted(stretches, key=lambda s: s[0] - s[1]):
        if left <= 0:
            break
        kept.append((start, min(end, start + left)))
        left -= end - start
    return sorted(kept)


def _clean_stretches(own: Sequence[Turn], others: Sequence[Turn]) -> list[tuple[float, float]]:
    """The speaker's turns, trimmed at the edges, minus every stretch another speaker holds."""
    taken: list[tuple[float, float]] = []  # the other speakers' time, merged, in order
    for turn in sorted(others, key=lambda t: t.start):
        if taken and turn.start <= taken[-1][1]:
            taken[-1] = (taken[-1][0], max(taken[-1][1], turn.end))
        else:
            taken.append((turn.start, turn.end))
    ends = [end for _, end in taken]
    stretches = []
    for turn in own:
        at, end = turn.start + _EDGE_TRIM, turn.end - _EDGE_TRIM
        for lo, hi in taken[bisect.bisect_right(ends, at) :]:
            if lo >= end:
                break
            if lo > at:
                stretches.append((at, lo))
            at = max(at, hi)
        if end > at:
            stretches.append((at, end))
    return stretches
