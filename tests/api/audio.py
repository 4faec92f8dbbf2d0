"""Small audio made on the fly for upload tests: real, decodable bytes of a chosen length."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf


def tone(seconds: float = 1.0, *, hz: float = 220.0, fmt: str = "WAV", rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    out = io.BytesIO()
    sf.write(out, samples, rate, format=fmt, subtype="PCM_16")
    return out.getvalue()


def header_only_wav() -> bytes:
    """A valid RIFF/WAVE header announcing zero samples."""
    return tone(0.0)
