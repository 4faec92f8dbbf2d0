"""Where speech and overlapping speech are: the segmentation model of pyannote's community-1.

The model sees 10 s of waveform and says, every 17 ms, which of up to three local voices speak.
The diarizer takes two things from it: speech that silero VAD misses (quiet far-field voices, the
short pauses inside a turn) and where two people talk at once. Both models of community-1 are
compiled into moonshine-voice's ``libmoonshine.so`` as ORT bytes behind exported data symbols;
``embedded_model`` reads them through ctypes and never calls into moonshine. Nothing here touches
the network.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.backends import ort_session, package_file
from lahstats.pipeline.types import SAMPLE_RATE, Samples

Mask = npt.NDArray[np.bool_]

NAME = "pyannote-community1-segmentation"
_CHUNK = 10 * SAMPLE_RATE  # fixed by the model
# Chunks every 5 s, so each moment is seen twice: pyannote steps 1 s (10 looks) at 10x the cost;
# at 0.003 of real time per look this is cheap either way.
_STEP = 5 * SAMPLE_RATE
_BATCH = 2  # 10 s chunks per run: 8 held 160 MB more activations on 2 min, no faster
# the model's output frames (receptive_field_json inside the library)
_FRAME_STEP = 0.016875
_FRAME_SPAN = 0.0619375
_OUTPUT_FRAME = 0.01  # the diarizer's frame
_SYMBOL = "_ZN9cppannote19embedded_community1{length}{name}E"


class Segmenter:
    name = NAME

    def __init__(self, session: Any) -> None:
        self._session = session

    def activity(self, samples: Samples, frames: int) -> tuple[Mask, Mask]:
        """(speech, overlap) per 10 ms frame, ``frames`` long: someone speaks, two or more do.

        Every chunk's hard decisions are averaged where chunks meet; a frame is speech when most
        looks say so and overlap when the looks average more than 1.5 voices.
        """
        speech, overlap = np.zeros(frames, bool), np.zeros(frames, bool)
        if len(samples) == 0 or frames == 0:
            return speech, overlap
        starts = list(range(0, max(1, len(samples) - _CHUNK + _STEP), _STEP))
        anyone, voices, looks = (np.zeros(frames) for _ in range(3))
        for lo in range(0, len(starts), _BATCH):
            batch = np.zeros((len(starts[lo : lo + _BATCH]), 1, _CHUNK), np.float32)
            for row, start in enumerate(starts[lo : lo + _BATCH]):
                piece = samples[start : start + _CHUNK]
                batch[row, 0, : len(piece)] = piece
            (outputs,) = self._session.run(None, {"waveforms": batch})
            for start, out in zip(starts[lo : lo + _BATCH], outputs, strict=True):
                centres = start / SAMPLE_RATE + np.arange(len(out)) * _FRAME_STEP + _FRAME_SPAN / 2
                index = np.clip((centres / _OUTPUT_FRAME).astype(np.int64), 0, frames - 1)
                np.add.at(anyone, index, out.max(axis=1))
                np.add.at(voices, index, out.sum(axis=1))
                np.add.at(looks, index, 1.0)
        seen = np.flatnonzero(looks)
        if len(seen) == 0:
            return speech, overlap
        # model frames are 17 ms, so some 10 ms frames get no look: they take their neighbours'
        everywhere = np.arange(frames)
        speech = np.interp(everywhere, seen, anyone[seen] / looks[seen]) > 0.5
        overlap = np.interp(everywhere, seen, voices[seen] / looks[seen]) > 1.5
        return speech, overlap


def embedded_model(name: str) -> bytes:
    """The ORT bytes of community-1's ``segmentation`` or ``embedding`` model."""
    # the library carries the models; it is loaded for its data symbols, nothing of it is run
    path = package_file("moonshine-voice==0.1.0", "moonshine_voice", "libmoonshine.so")
    data_name, size_name = f"{name}_ort_data", f"{name}_ort_data_size"
    try:
        library = ctypes.CDLL(str(path))
        size = ctypes.c_size_t.in_dll(
            library, _SYMBOL.format(length=len(size_name), name=size_name)
        ).value
        data = ctypes.c_char.in_dll(library, _SYMBOL.format(length=len(data_name), name=data_name))
        return ctypes.string_at(ctypes.addressof(data), size)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(
            f"pyannote's community-1 {name} model could not be read from {path}: {error}",
            hint="Install moonshine-voice 0.1.0: `pip install 'moonshine-voice==0.1.0'`.",
        ) from error


@lru_cache(maxsize=1)
def load_segmenter() -> Segmenter:
    """The model, loaded once per process."""
    return Segmenter(ort_session(embedded_model("segmentation")))
