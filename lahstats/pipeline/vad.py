"""Where anyone is speaking: silero VAD's speech probability every 32 ms, and speech regions.

The diarizer runs this first so silence, noise and music give no turns and no embeddings. The model
is the ONNX export that ships inside the ``silero-vad`` package, run on onnxruntime: the package's
own loader is never imported (it sets torch's global thread count to 1 at import) and its
TorchScript file would take 30x longer here. Nothing here touches the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from lahstats.pipeline.backends import ort_session, package_file
from lahstats.pipeline.types import SAMPLE_RATE, Samples

Probabilities = npt.NDArray[np.float32]

FRAME = 512  # samples per probability at 16 kHz, fixed by the model
FRAME_SECONDS = FRAME / SAMPLE_RATE
_CONTEXT = 64  # samples of the previous frame the model expects in front of each frame

# Hysteresis as in silero's get_speech_timestamps: speech starts above ONSET and lasts until the
# probability stays below OFFSET. Defaults of the package; on the dev set they keep white noise
# (-20 dBFS) and digital silence at zero regions while missing under 1% of reference speech.
ONSET = 0.5
OFFSET = 0.35
MIN_SPEECH = 0.25  # seconds; shorter blips are clicks and breaths
MIN_SILENCE = 0.1  # seconds; shorter dips do not split a region
PAD = 0.03  # seconds added each side, as silero does, so onsets are not clipped


class SpeechDetector:
    name = "silero-vad"

    def __init__(self, session: Any) -> None:
        self._session = session

    def probabilities(self, samples: Samples) -> Probabilities:
        """Speech probability of each 512-sample frame; a final partial frame is zero-padded."""
        count = -(-len(samples) // FRAME)
        padded = np.zeros(count * FRAME + _CONTEXT, np.float32)
        padded[_CONTEXT : _CONTEXT + len(samples)] = samples
        state = np.zeros((2, 1, 128), np.float32)
        rate = np.array(SAMPLE_RATE, np.int64)
        out = np.empty(count, np.float32)
        for index in range(count):
            frame = padded[None, index * FRAME : (index + 1) * FRAME + _CONTEXT]
            prob, state = self._session.run(None, {"input": frame, "state": state, "sr": rate})
            out[index] = prob.item()
        return out


def load_speech_detector() -> SpeechDetector:
    path = package_file("silero-vad", "silero_vad", "data/silero_vad.onnx")
    # one frame at a time is too small to share between threads; leave the cores to the encoders
    return SpeechDetector(ort_session(str(path), threads=1))


def speech_regions(probabilities: Probabilities, duration: float) -> list[tuple[float, float]]:
    """Speech as (start, end) seconds, from the frame probabilities with hysteresis."""
    regions: list[tuple[float, float]] = []
    start: float | None = None
    below_since: float | None = None
    for index, prob in enumerate(probabilities):
        at = index * FRAME_SECONDS
        if start is None:
            if prob >= ONSET:
                start, below_since = at, None
            continue
        if prob >= OFFSET:
            below_since = None
        elif below_since is None:
            below_since = at
        elif at + FRAME_SECONDS - below_since >= MIN_SILENCE:
            regions.append((start, below_since))
            start, below_since = None, None
    if start is not None:
        regions.append((start, below_since if below_since is not None else duration))
    padded = [
        (max(0.0, lo - PAD), min(duration, hi + PAD)) for lo, hi in regions if hi - lo >= MIN_SPEECH
    ]
    merged: list[tuple[float, float]] = []
    for lo, hi in padded:  # padding can make neighbours touch
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged
