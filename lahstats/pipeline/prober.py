"""Checking uploads quickly without reading untrusted bytes in the API's own process.

``decode.probe`` asks ffprobe about the formats libsndfile does not read (m4a/aac, webm): a new
ffprobe process per chunk costs ~100 ms of start-up (it loads every codec library) and a WebM
straight from MediaRecorder, whose header says no duration, is decoded whole to measure it.

``Prober`` keeps a small pool of warm processes that read the same headers with PyAV (FFmpeg's
libraries, which faster-whisper already installs): a few ms per chunk, and WebM, ADTS AAC and MP3
are measured by reading packet times, not by decoding. The bytes are still parsed outside the API's
process, with a time limit: a file that hangs or crashes a demuxer costs one pool process
(replaced), never the server. Without PyAV, or when the pool cannot start, it falls back to
``decode.probe``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from lahstats.errors import InvalidAudio
from lahstats.pipeline.decode import HEADERLESS, AudioInfo, probe
from lahstats.pipeline.sniff import AudioFormat, sniff

log = structlog.get_logger(__name__)

# libsndfile reads these headers in microseconds, in a thread: no process needed.
_IN_PROCESS: frozenset[AudioFormat] = frozenset({"wav", "flac", "ogg", "aiff", "caf"})
_MAX_FAILURES = 3
_EXIT_GRACE_SECONDS = 5.0  # a child still importing FFmpeg's libraries takes about 1 s


def probe_with_av(data: bytes, fmt: AudioFormat, label: str) -> AudioInfo:
    """What ``data`` holds, read by PyAV from headers and packet times (never decoded)."""
    import av
    import av.logging

    logs: list[tuple[int, str, str]] = []
    try:
        with av.logging.Capture() as logs, av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise InvalidAudio(f"{label} could not be decoded: it has no audio stream")
            stream = container.streams.audio[0]
            rate = int(stream.codec_context.sample_rate or 0)
            channels = int(stream.codec_context.channels or 0)
            duration = 0.0
            if fmt in HEADERLESS:
                pass  # what FFmpeg says is a guess from the first frames' bitrate: count them
            elif container.duration is not None and container.duration > 0:
                duration = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            if duration <= 0:  # headerless, or MediaRecorder's WebM: the end of the last packet
                end = 0
                for packet in container.demux(stream):
                    if packet.pts is not None:
                        end = max(end, packet.pts + (packet.duration or 0))
                duration = float(end * stream.time_base) if stream.time_base else 0.0
    except av.error.FFmpegError as exc:
        # The cause is in FFmpeg's log ("moov atom not found"), the exception is generic.
        said = [message.strip() for _, _, message in logs if message.strip()]
        reason = "; ".join([*said[-1:], str(exc.strerror or exc)])
        raise InvalidAudio(f"{label} could not be decoded: {reason}") from exc
    return AudioInfo(fmt, duration, rate, channels)


def _warm() -> None:
    """Loads FFmpeg's libraries once per pool process, and lets their errors be captured."""
    import av.logging

    av.logging.set_level(av.logging.ERROR)


class Prober:
    """Probes uploads in a pool of ``workers`` processes; ``timeout`` seconds per chunk."""

    def __init__(self, *, workers: int = 2, timeout: float = 10.0, use_av: bool = True) -> None:
        self.workers = workers
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._failures = 0
        self._usable = use_av and importlib.util.find_spec("av") is not None

    async def probe(self, data: bytes, *, label: str) -> AudioInfo:
        fmt = sniff(data) if data else None
        if fmt is None or fmt in _IN_PROCESS or not self._usable:
            return await asyncio.to_thread(probe, data, label=label)  # also words the rejections
        loop = asyncio.get_running_loop()
        pool = self._ensure_pool()
        try:
            future = loop.run_in_executor(pool, probe_with_av, data, fmt, label)
            info = await asyncio.wait_for(future, self.timeout)
        except (TimeoutError, BrokenProcessPool) as exc:
            # A file that hangs or kills a demuxer, or a pool that cannot start: the process is
            # replaced, and ffprobe (its own process, its own time limit) gives the verdict.
            self._discard(pool, "timeout" if isinstance(exc, TimeoutError) else "broken")
            return await asyncio.to_thread(probe, data, label=label)
        self._failures = 0
        return info

    def start(self) -> None:
        """Starts the pool's processes now, so the first upload does not wait for them."""
        if self._usable:
            pool = self._ensure_pool()
            for _ in range(self.workers):
                pool.submit(_warm)

    async def close(self) -> None:
        """Stops the pool's processes: asked to exit, given ``_EXIT_GRACE_SECONDS``, then killed.

        Each child holds both ends of the pool's queue pipe, so one never sees this process die:
        one left behind (a server stopped while its pool was still starting) would block for
        ever, holding whatever this process's stdout was.
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(_stop_pool, pool, _EXIT_GRACE_SECONDS)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the API's threads and sockets never leak into the children
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_warm)
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor, why: str) -> None:
        """Kills a pool whose process hangs or died; the next probe starts a new one.

        After ``_MAX_FAILURES`` in a row the pool is given up for this process's life: ffprobe
        probes every upload, slower but sound.
        """
        self._failures += 1
        if self._failures >= _MAX_FAILURES:
            self._usable = False
        log.warning(
            "probe.pool_replaced",
            reason=why,
            failures=self._failures,
            fallback_only=not self._usable,
        )
        _stop_pool(pool, grace=0)
        if self._pool is pool:
            self._pool = None


def _stop_pool(pool: ProcessPoolExecutor, grace: float) -> None:
    """Shuts ``pool`` down without waiting on it, then kills what is alive after ``grace`` s."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
