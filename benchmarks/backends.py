"""Throughput of the production model backends on this machine's device, in audio seconds per
second, with their real architectures at random weights (the real weights need the model hub).

- pyannote: a community-1 pipeline (segmentation-3.0 PyanNet, WeSpeaker ResNet34, VBx with a
  PLDA of its shapes). Its cost is the networks' and does not depend on the weights, except
  for clustering, which is a small part.
- transformers Whisper at whisper-small's size. Random weights never write the end-of-text
  token, so every 30 s piece decodes to the length cap (224 new tokens, about twice a real
  transcript of fast speech): an upper bound on the decoding cost.
- the embedded faster-whisper tiny.en (real weights), for comparison.

Each transcriber runs through the recogniser on the recording's speech as found by the embedded
VAD. Run ``python -m benchmarks.backends [--seconds 120] [--source FILE]``; on a GPU server
``LAHSTATS_DEVICE=cuda`` (the default ``auto`` picks it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.pipeline import DEFAULT_SOURCE


def _cut(source: Path, seconds: float, directory: Path) -> Path:
    cut = directory / f"first_{seconds:g}s.wav"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-i", str(source)),
            *("-t", str(seconds), "-ac", "1", "-ar", "16000", str(cut)),
        ],
        check=True,
    )
    return cut


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    if not args.source.is_file():
        print(f"no audio at {args.source}: pass --source FILE", file=sys.stderr)
        return 1

    from lahstats.lexicon.lexicon import load_lexicon
    from lahstats.pipeline.backends import resolve_device
    from lahstats.pipeline.decode import decode_file
    from lahstats.pipeline.diarize import diarize, load_diarizer
    from lahstats.pipeline.transcribe import load_transcriber, transcribe
    from lahstats.settings import Settings
    from tests.pipeline import tiny_pyannote, tiny_transformers

    device = resolve_device("auto")
    lexicon = load_lexicon()
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        audio = decode_file(_cut(args.source, args.seconds, root))
        turns = diarize(load_diarizer(Settings()), audio)  # speech, for the transcribers

        pipeline = tiny_pyannote.community1(root / "community-1")
        diarizer = load_diarizer(Settings(diarizer="pyannote", diarizer_model=str(pipeline)))
        diarize(diarizer, audio.__class__(audio.slice(0, 10)))  # warm-up
        started = time.perf_counter()
        found = diarize(diarizer, audio)
        rows.append(
            (
                "pyannote community-1 (random weights)",
                audio.duration,
                time.perf_counter() - started,
                f"{len({t.speaker for t in found})} speakers",
            )
        )

        whisper = tiny_transformers.write_tiny_whisper(
            root / "whisper-small",
            alignment_heads=True,
            multilingual=True,
            dimensions=tiny_transformers.WHISPER_SMALL,
        )
        recognisers = {
            "transformers whisper-small (random weights, 224 tokens per piece)": Settings(
                transcriber="transformers", transcriber_model=str(whisper)
            ),
            "faster-whisper tiny.en (embedded, real weights)": Settings(),
        }
        speech = sum(turn.duration for turn in turns)
        for label, settings in recognisers.items():
            transcriber = load_transcriber(settings, lexicon)
            started = time.perf_counter()
            words = transcribe(transcriber, audio, turns)
            rows.append(
                (label, audio.duration, time.perf_counter() - started, f"{len(words)} words")
            )

    print(
        f"device: {device}; {audio.duration:.0f} s of {args.source.name}, {speech:.0f} s in turns"
    )
    print(f"{'backend':<66} {'audio s/s':>9} {'seconds':>8}  result")
    for label, seconds, took, result in rows:
        print(f"{label:<66} {seconds / took:>9.1f} {took:>8.1f}  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
