"""Running the ffmpeg and ffprobe programs: the codecs Python has no reliable reader or writer for.

Decode uses it for m4a/aac/webm (and as a fallback for anything libsndfile refuses), sample uses it
to encode MP3. It turns "not installed" into ConfigurationError and keeps the reason ffmpeg gave;
it must never decide what a failure means for the user: callers raise InvalidAudio or not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

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
