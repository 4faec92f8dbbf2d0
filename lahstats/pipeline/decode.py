"""The first stage: uploaded bytes (any common format, rate or channel count) -> 16 kHz mono.

The format is sniffed from the bytes, never taken from a file name. libsndfile reads what it reads
reliably (wav, flac, ogg, aiff, caf); ffmpeg reads the rest (m4a/aac, mp3, webm) and anything
libsndfile refuses. All channels are averaged, so a stereo file with one voice per channel keeps
both voices. Bad input raises InvalidAudio naming the chunk and the reason; this stage must never
return noise for bytes that are not audio, nor guess a format from a name.

Choices a caller can rely on:
- a valid file with zero samples (a WAV header and nothing else) decodes to an empty array, 0 s;
- a truncated file decodes to the samples it holds (a WAV whose header claims 10 s but holds
  0.25 s gives 0.25 s);
- a chunk number uploaded twice with identical bytes is kept once (a client retry); with different
  bytes it raises InvalidAudio, since there is no telling which one is right.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import soundfile as sf
import soxr  # type: ignore[import-untyped]  # a dependency of librosa; ships no py.typed
import structlog

from lahstats.errors import InvalidAudio
from lahstats.pipeline.ffmpeg import run_tool, short_reason
from lahstats.pipeline.sniff import AudioFormat, describe_non_audio, sniff
from lahstats.pipeline.types import (
    SAMPLE_RATE,
    Audio,
    Chunk,
    Gap,
    ProgressHook,
    Samples,
    no_progress,
)

log = structlog.get_logger(__name__)
K = TypeVar("K")

# Not MP3: for an MP3 without a Xing header libsndfile takes the first frames' bitrate for the
# whole file and stops reading there (9.4 s of a 16.6 s VBR MP3 were decoded).
_LIBSNDFILE_FORMATS: frozenset[AudioFormat] = frozenset({"wav", "flac", "ogg", "aiff", "caf"})
# Bare frames, with no length in any header (ADTS AAC; MP3 without a Xing header): FFmpeg guesses
# one from the first frames' bitrate (a 30 s ADTS chunk that starts quietly came out as 44 s), so
# their length is where their last frame ends.
HEADERLESS: frozenset[AudioFormat] = frozenset({"aac", "mp3"})
_SECONDS_PER_MEGABYTE = 10.0  # ffmpeg timeout: generous for a slow CPU, finite for a looping one


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What an upload holds, as read from its headers (see ``probe``)."""

    format: AudioFormat
    duration: float  # seconds
    sample_rate: int
    channels: int


def probe(data: bytes, *, label: str = "audio") -> AudioInfo:
    """Check cheaply that ``data`` is audio and say what it holds; raises InvalidAudio if not.

    Reads headers only (libsndfile, else ffprobe), so a file whose later frames are corrupt can
    pass; ``decode_bytes`` reports those. A headerless stream (``HEADERLESS``) is measured from its
    frames' times, and a file whose headers hold no duration (some WebM) is decoded to measure it.
    """
    fmt = _sniff_or_reject(data, label)
    if fmt in _LIBSNDFILE_FORMATS:
        try:
            info = sf.info(io.BytesIO(data))
        except (sf.LibsndfileError, RuntimeError) as exc:
            # libsndfile's readers are stricter than ffmpeg's: let ffprobe have a look.
            if not _can_run("ffprobe"):
                raise InvalidAudio(f"{label} could not be decoded: {exc}") from exc
        else:
            return AudioInfo(fmt, info.frames / info.samplerate, info.samplerate, info.channels)
    with _as_file(data, fmt) as path:
        run = run_tool(
            "ffprobe",
            [
                *("-show_entries", "format=duration:stream=codec_type,sample_rate,channels"),
                *("-of", "json", str(path)),
            ],
            timeout=_timeout(data),
            purpose=f"read {fmt} audio",
        )
        if run.returncode != 0:
            reason = short_reason(run.stderr, hide=path)
            raise InvalidAudio(f"{label} could not be decoded: {reason}")
        found = json.loads(run.stdout or b"{}")
        streams = [s for s in found.get("streams", []) if s.get("codec_type") == "audio"]
        if not streams:
            raise InvalidAudio(f"{label} could not be decoded: it has no audio stream")
        rate, channels = _number(streams[0], "sample_rate"), _number(streams[0], "channels")
        if fmt in HEADERLESS:
            duration = _last_packet_end(path, data)
        else:
            duration = _number(found.get("format", {}), "duration", float)
    if duration <= 0:  # unknown to the headers (WebM straight from MediaRecorder): measure it
        duration = len(decode_bytes(data, label=label)) / SAMPLE_RATE
    return AudioInfo(fmt, duration, int(rate), int(channels))


def decode_bytes(data: bytes, *, label: str = "audio") -> Samples:
    """Decode one file's bytes to 16 kHz mono float32; raises InvalidAudio naming ``label``."""
    fmt = _sniff_or_reject(data, label)
    if fmt in _LIBSNDFILE_FORMATS:
        try:
            return _decode_with_libsndfile(data)
        except (sf.LibsndfileError, RuntimeError) as exc:
            if not _can_run("ffmpeg"):
                raise InvalidAudio(f"{label} could not be decoded: {exc}") from exc
    return _decode_with_ffmpeg(data, fmt, label)


def decode_chunks(chunks: Sequence[Chunk], *, on_progress: ProgressHook = no_progress) -> Audio:
    """Decode a recording's chunks in number order and join them; holes become ``Audio.gaps``.

    Numbering may start anywhere; only numbers missing between the smallest and the largest are
    gaps. Each gap is logged ("decode.gap") and the rest of the recording still decodes.
    """
    return _join([_Part(c.number, c.label, c.data) for c in _unique_numbers(chunks)], on_progress)


def decode_file(path: Path) -> Audio:
    """Decode one file of any supported format; errors name the file."""
    return decode_files([path])


def decode_files(paths: Sequence[Path], *, on_progress: ProgressHook = no_progress) -> Audio:
    """Decode several files as the ordered chunks of one recording; errors name the file."""
    return _join([_Part(n, p.name, p) for n, p in enumerate(paths)], on_progress)


@dataclass(frozen=True, slots=True)
class _Part:
    number: int
    label: str
    source: bytes | Path  # a path is read late, so files are never all in memory at once


def _join(parts: Sequence[_Part], on_progress: ProgressHook) -> Audio:
    if not parts:
        raise InvalidAudio("the recording has no audio: no chunks were given")
    pieces: list[Samples] = []
    gaps: list[Gap] = []
    length = 0
    on_progress("decode", 0, len(parts))
    for done, part in enumerate(parts, start=1):
        if pieces:
            for missing in range(parts[done - 2].number + 1, part.number):
                gap = Gap(number=missing, at=length / SAMPLE_RATE)
                log.warning("decode.gap", chunk=missing, at=round(gap.at, 3), before=part.label)
                gaps.append(gap)
        samples = decode_bytes(
            part.source if isinstance(part.source, bytes) else _read(part.source), label=part.label
        )
        pieces.append(samples)
        length += len(samples)
        on_progress("decode", done, len(parts))
    joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    return Audio(samples=joined, gaps=tuple(gaps))


def _unique_numbers(chunks: Sequence[Chunk]) -> list[Chunk]:
    by_number: dict[int, Chunk] = {}
    for chunk in sorted(chunks, key=lambda c: c.number):
        kept = by_number.setdefault(chunk.number, chunk)
        if kept is chunk:
            continue
        if kept.data != chunk.data:
            raise InvalidAudio(
                f"chunk {chunk.number} was given twice with different contents "
                f"({kept.label} and {chunk.label})",
                hint="Upload each chunk number once; re-send a chunk only with the same bytes.",
            )
        log.info("decode.duplicate", chunk=chunk.number)
    return list(by_number.values())


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidAudio(
            f"{path.name} cannot be read: {exc.strerror}", hint="Check the path."
        ) from exc


def _sniff_or_reject(data: bytes, label: str) -> AudioFormat:
    if not data:
        raise InvalidAudio(f"{label} is empty (0 bytes)")
    fmt = sniff(data)
    if fmt is None:
        raise InvalidAudio(f"{label} is not audio: {describe_non_audio(data)}")
    return fmt


def _decode_with_libsndfile(data: bytes) -> Samples:
    frames, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = frames[:, 0] if frames.shape[1] == 1 else frames.mean(axis=1, dtype=np.float32)
    del frames
    # IEEE-float files may carry NaN or inf, which would poison every model downstream.
    if mono.size and not np.isfinite(mono).all():
        mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    return _resample(np.ascontiguousarray(mono, dtype=np.float32), rate)


def _resample(samples: Samples, rate: int) -> Samples:
    if rate == SAMPLE_RATE or samples.size == 0:
        return samples
    return np.asarray(soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ"), dtype=np.float32)


def _can_run(tool: str) -> bool:
    return shutil.which(tool) is not None


def _number(fields: dict[str, Any], name: str, kind: type[float] = int) -> float:
    # ffprobe writes "N/A" (or nothing) for what a header does not say
    try:
        return kind(fields[name])
    except (KeyError, TypeError, ValueError):
        return 0


def _last_packet_end(path: str, data: bytes) -> float:
    """Seconds to the end of the last audio packet, from ffprobe's packet list (no decoding)."""
    run = run_tool(
        "ffprobe",
        [
            *("-select_streams", "a:0", "-show_entries", "packet=pts_time,duration_time"),
            *("-of", "csv=p=0", path),
        ],
        timeout=_timeout(data),
        purpose="count audio frames",
    )
    end = 0.0
    for line in run.stdout.decode(errors="replace").splitlines():
        pts, _, duration = line.partition(",")
        try:
            end = max(end, float(pts) + float(duration))
        except ValueError:  # "N/A" for what a packet does not say
            continue
    return end


def _decode_with_ffmpeg(data: bytes, fmt: AudioFormat, label: str) -> Samples:
    # A file, not a pipe: MP4 keeps its index at the end, and MP3 is gapless only when seekable.
    with _as_file(data, fmt) as path:
        run = run_tool(
            "ffmpeg",
            _decode_args(path),
            timeout=_timeout(data),
            purpose=f"decode {fmt} audio",
        )
    # ffmpeg may exit 0 having decoded nothing from a broken file: no samples + a complaint fails.
    if run.returncode != 0 or (not run.stdout and run.stderr.strip()):
        raise InvalidAudio(f"{label} could not be decoded: {short_reason(run.stderr, hide=path)}")
    if run.stderr.strip():
        log.warning("decode.partial", label=label, reason=short_reason(run.stderr, hide=path))
    return _floats(run.stdout)


def decode_in_pieces(data: bytes, seconds: float, *, label: str = "audio") -> Iterator[Samples]:
    """One file's audio as 16 kHz mono float32 pieces of ``seconds`` (the last shorter): ffmpeg
    decodes it to a temporary file (within the usual timeout, however slowly the pieces are
    then taken), read a piece at a time, so a 2-hour upload is never held decoded whole in
    memory. Raises InvalidAudio naming ``label`` as ``decode_bytes`` does."""
    fmt = _sniff_or_reject(data, label)
    with tempfile.TemporaryDirectory(prefix="lahstats-decode-") as folder:
        source, decoded = Path(folder) / f"input.{fmt}", Path(folder) / "decoded.f32"
        source.write_bytes(data)
        run = run_tool(
            "ffmpeg",
            _decode_args(str(source), output=str(decoded)),
            timeout=_timeout(data),
            purpose=f"decode {fmt} audio",
        )
        empty = not decoded.is_file() or decoded.stat().st_size == 0
        if run.returncode != 0 or (empty and run.stderr.strip()):
            reason = short_reason(run.stderr, hide=str(source))
            raise InvalidAudio(f"{label} could not be decoded: {reason}")
        if run.stderr.strip():
            reason = short_reason(run.stderr, hide=str(source))
            log.warning("decode.partial", label=label, reason=reason)
        size = round(seconds * SAMPLE_RATE) * 4
        with decoded.open("rb") as pieces:
            while block := pieces.read(size):
                yield _floats(block)


def decode_span(data: bytes, start: float, seconds: float, *, label: str = "audio") -> Samples:
    """``seconds`` of one file's audio from ``start``, found by seeking (to within a frame or
    so: fine for sample clips and voices, not for counting), 16 kHz mono float32."""
    fmt = _sniff_or_reject(data, label)
    with _as_file(data, fmt) as path:
        run = run_tool(
            "ffmpeg",
            [
                *("-ss", f"{max(0.0, start):.3f}", "-t", f"{seconds:.3f}"),
                *_decode_args(path),
            ],
            timeout=_timeout(data),
            purpose=f"decode {fmt} audio",
        )
    if run.returncode != 0:
        raise InvalidAudio(f"{label} could not be decoded: {short_reason(run.stderr, hide=path)}")
    return _floats(run.stdout)


def _floats(raw: bytes) -> Samples:
    """ffmpeg's f32le output as samples (a trailing partial sample dropped)."""
    usable = len(raw) - len(raw) % 4
    return np.frombuffer(raw[:usable], dtype="<f4").astype(np.float32)


def _decode_args(path: str, output: str = "pipe:1") -> list[str]:
    """ffmpeg's arguments: the file's first audio stream as 16 kHz mono float32, on stdout or
    into the file ``output``."""
    return [
        *("-i", path, "-map", "0:a:0", "-vn"),
        *("-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-y", output),
    ]


@contextmanager
def _as_file(data: bytes, fmt: AudioFormat) -> Iterator[str]:
    """The bytes in a temporary file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="lahstats-decode-") as folder:
        path = Path(folder) / f"input.{fmt}"
        path.write_bytes(data)
        yield str(path)


def _timeout(data: bytes) -> float:
    return 30.0 + _SECONDS_PER_MEGABYTE * len(data) / 1_000_000


class ChunkedAudio(Generic[K]):
    """A session's audio as its parts (chunks, or spans of a long one), each decoded only when
    a slice falls in it (the last few kept): what the end step of chunk-by-chunk processing cuts
    samples and voices from, without ever holding the whole session decoded. ``parts`` are
    ``(key, seconds into the session, seconds long)`` in order; ``read(key)`` gives a part's
    decoded samples."""

    def __init__(
        self,
        parts: Sequence[tuple[K, float, float]],
        read: Callable[[K], Samples],
        *,
        keep: int = 4,
    ) -> None:
        self.parts = list(parts)
        self.read = read
        self.keep = keep
        self._decoded: dict[K, Samples] = {}
        self.decoded = 0  # parts decoded so far, for tests and logs

    @property
    def duration(self) -> float:
        return max((at + length for _, at, length in self.parts), default=0.0)

    def slice(self, start: float, end: float) -> Samples:
        pieces = []
        for key, at, length in self.parts:
            if at + length <= start or at >= end:
                continue
            samples = self._samples(key)
            lo = max(0, round((start - at) * SAMPLE_RATE))
            hi = min(len(samples), round((end - at) * SAMPLE_RATE))
            pieces.append(samples[lo : max(lo, hi)])
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)

    def _samples(self, key: K) -> Samples:
        if key not in self._decoded:
            if len(self._decoded) >= self.keep:
                del self._decoded[next(iter(self._decoded))]
            self._decoded[key] = self.read(key)
            self.decoded += 1
        return self._decoded[key]
