"""Running the ffmpeg and ffprobe programs: the codecs Python has no reliable reader or writer for.

Decode uses it for m4a/aac/webm (and as a fallback for anything libsndfile refuses), sample uses it
to encode MP3. It turns "not installed" into ConfigurationError and keeps the reason ffmpeg gave;
it must never decide what a failure means for the user: callers raise InvalidAudio or not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from lahstats.errors import ConfigurationError

_INSTALL_HINT = (
    "Install ffmpeg: `make system-deps` (Debian/Ubuntu) or `brew install ffmpeg` (macOS)."
)
# "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c0a8e8c0] moov atom not found" -> "moov atom not found"
_LOG_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


@dataclass(frozen=True, slots=True)
class Run:
    """What one ffmpeg/ffprobe run gave back."""

    returncode: int
    stdout: bytes
    stderr: str


def run_tool(
    tool: str, args: list[str], *, input_data: bytes | None = None, timeout: float, purpose: str
) -> Run:
    """Run ``tool`` (ffmpeg or ffprobe) with ``args``; ``purpose`` says why, for messages."""
    executable = shutil.which(tool)
    if executable is None:
        raise ConfigurationError(
            f"{tool} is not installed; it is needed to {purpose}", hint=_INSTALL_HINT
        )
    # ffmpeg would read the terminal for key presses; ffprobe has no such option
    quiet = ["-nostdin"] if tool == "ffmpeg" else []
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program with arguments we build, no shell
            [executable, *quiet, "-hide_banner", "-v", "error", *args],
            input=input_data,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(returncode=-1, stdout=b"", stderr=f"{tool} took longer than {timeout:.0f} s")
    except OSError as exc:
        raise ConfigurationError(f"{tool} cannot run: {exc}", hint=_INSTALL_HINT) from exc
    return Run(done.returncode, done.stdout, done.stderr.decode("utf-8", errors="replace"))


def short_reason(stderr: str, *, hide: str = "", limit: int = 160) -> str:
    """What ffmpeg complained about last, without log prefixes or our temporary file's path."""
    lines: list[str] = []
    for line in stderr.splitlines():
        text = _LOG_PREFIX.sub("", line).strip()
        if hide:
            text = text.replace(f"{hide}: ", "").replace(hide, "input")
        if text and not text.startswith("Last message repeated") and text not in lines:
            lines.append(text)
    if not lines:
        return "ffmpeg gave no reason"
    # The cause usually comes just before ffmpeg's generic last line ("Invalid data found ...").
    reason = "; ".join(lines[-2:])
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


class Stream:
    """A running tool's output, read a block at a time (``streamed``)."""

    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes], timeout: float) -> None:
        self._process = process
        self._errors = errors
        self.timeout = timeout
        self.timed_out = False

    def stop(self) -> None:
        """The timeout's end: kill the tool; its output ends and ``finish`` says why."""
        self.timed_out = True
        self._process.kill()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the output."""
        assert self._process.stdout is not None
        return self._process.stdout.read(size)

    def finish(self) -> Run:
        """Waits for the tool to exit: its status and complaints (no output: it was read)."""
        returncode = self._process.wait()
        if self.timed_out:
            return Run(-1, b"", f"it took longer than {self.timeout:.0f} s")
        self._errors.seek(0)
        return Run(returncode, b"", self._errors.read().decode("utf-8", errors="replace"))


@contextmanager
def streamed(tool: str, args: list[str], *, timeout: float, purpose: str) -> Iterator[Stream]:
    """``tool`` with ``args``, its output read as it comes (``Stream.read``) rather than held
    whole: a 2-hour upload decoded 30 s at a time. Killed after ``timeout`` s (its output then
    ends early and ``finish`` says so) and when the block is left."""
    executable = shutil.which(tool)
    if executable is None:
        raise ConfigurationError(
            f"{tool} is not installed; it is needed to {purpose}", hint=_INSTALL_HINT
        )
    quiet = ["-nostdin"] if tool == "ffmpeg" else []
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(  # noqa: S603 - a fixed program with arguments we build
                [executable, *quiet, "-hide_banner", "-v", "error", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        except OSError as exc:
            raise ConfigurationError(f"{tool} cannot run: {exc}", hint=_INSTALL_HINT) from exc
        stream = Stream(process, errors, timeout)
        timer = threading.Timer(timeout, stream.stop)
        timer.start()
        try:
            yield stream
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
