"""The threshold tool scores a read-out fitted anew on the frames it kept, with no recogniser."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lahstats.evaluation.dataset import Recording
from lahstats.evaluation.particle_thresholds import Heard
from lahstats.pipeline.particles import FRAME_RATE, LABELS, UNWRITTEN, ParticleReadout, pooled
from lahstats.pipeline.types import Turn, Word


def _readout_hearing(label: str) -> ParticleReadout:
    """A read-out that hears ``label`` wherever the frames' first feature is 1 (else nothing)."""
    features = pooled(np.zeros((1, 2), np.float32)).shape[1]
    weights = np.zeros((len(LABELS), features), np.float32)
    weights[LABELS.index(label), 0] = 40.0
    bias = np.zeros(len(LABELS), np.float32)
    bias[LABELS.index(label)] = -20.0
    return ParticleReadout(np.zeros(features, np.float32), np.ones(features, np.float32),
                           weights, bias)  # fmt: skip


def test_a_new_read_out_replaces_what_the_shipped_ones_heard_and_keeps_what_was_written() -> None:
    frames = np.zeros((3 * FRAME_RATE, 2), np.float16)
    frames[100:110, 0] = 1.0  # 2.0-2.2 s of the stretch, that is 12.0-12.2 s of the recording
    recording = Recording("r", "synthetic_conversation", Path("r.wav"), None, None, None,
                          True, (), 1, 15.0)  # fmt: skip
    written = Word("okay", 11.0, 11.3, "A", 0.9, None)
    old = Word("meh", 11.5, 11.7, "A", 0.99, UNWRITTEN)
    item = Heard(recording, (written, old), (Turn("A", 10.0, 13.0),), ((10.0, 13.0, frames),))
    again = item.read_by([_readout_hearing("lor")])
    heard = [(w.text, round((w.start + w.end) / 2, 1)) for w in again.words if w.text]
    assert heard == [("okay", 11.2), ("lor", 12.1)]
    # the mark that the stretch was listened to comes back with it
    assert [(w.start, w.end) for w in again.words if not w.text] == [(10.0, 13.0)]
