"""The README's API walk-through, run as written: every step of it must keep working.

The shell block is taken from the README's "The API" section and run by bash against a real
`lahstats serve` in the embedded default, started in an empty directory (no `db upgrade`: serve
migrates SQLite itself) on a free port. Only the port is changed. Its two chunks are cut from the
test clip. curl is wrapped so that each request's status goes to stderr, in order.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

PROJECT = Path(__file__).resolve().parents[1]
CLIP = PROJECT / "tests" / "fixtures" / "audio" / "two_speakers.flac"
# Each curl also writes "STATUS METHOD URL" to stderr; the block's own output is untouched.
CURL_STATUS = (
    "curl() { command curl -w '%{stderr}%{http_code} %{method} %{url_effective}\\n' \"$@\"; }"
)
# What each request of the walk-through must answer, in order.
EXPECTED = [
    (201, "POST", "/groups"),
    (201, "POST", "/sessions/start"),
    (201, "POST", "/sessions/{S}/upload"),
    (201, "PUT", "/sessions/{S}/chunks/1"),
    (202, "POST", "/sessions/{S}/end"),
    (200, "GET", "/sessions/{S}/events"),
    (200, "GET", "/sessions/{S}/speakers"),
    (200, "POST", "/sessions/{S}/claim"),
    (200, "GET", "/users/me/wrapped"),
]

pytestmark = pytest.mark.slow


def walkthrough() -> str:
    """The first shell block of the README's "The API" section."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("\n## The API\n", 1)[1]
    found = re.search(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    assert found, "the README's API section has no ```sh block"
    return found.group(1)


def cut(source: Path, target: Path, *options: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), *options, str(target)],
        check=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`lahstats serve` in an empty directory holding the block's chunks and this venv as .venv."""
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    cut(CLIP, tmp_path / "chunk0.m4a", "-t", "8", "-c:a", "aac", "-b:a", "32k")
    cut(CLIP, tmp_path / "chunk1.webm", "-ss", "8", "-c:a", "libopus", "-b:a", "24k")
    port = free_port()
    env = {**os.environ, "LAHSTATS_LOG_JSON": "true", "PYANNOTE_METRICS_ENABLED": "false"}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(tmp_path / ".venv" / "bin" / "lahstats"), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"serve exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"serve did not answer:\n{log.read_text()[-4000:]}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield url, tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_api_walkthrough_runs_as_written(server: tuple[str, Path]) -> None:
    url, root = server
    block = walkthrough()
    assert "localhost:8000" in block
    script = "\n".join(
        ["set -euo pipefail", CURL_STATUS, block.replace("localhost:8000", url.split("//")[1])]
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=root, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    answered = re.findall(r"^(\d{3}) ([A-Z]+) (\S+)$", done.stderr, flags=re.MULTILINE)
    session = re.search(r"/sessions/([0-9a-f-]{36})/", done.stderr)
    assert session, done.stderr
    expected = [
        (str(status), method, f"{url}{path.replace('{S}', session.group(1))}")
        for status, method, path in EXPECTED
    ]
    assert [(s, m, u.split("?")[0]) for s, m, u in answered] == expected, done.stdout
    # The event stream ran until processing was done, and the claim is the speaker's.
    assert "event: status" in done.stdout
    assert "ready_for_claiming" in done.stdout
    token = subprocess.run(
        [str(root / ".venv" / "bin" / "lahstats"), "token", "create", "--email", "ana@example.com"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    speakers = httpx.get(
        f"{url}/sessions/{session.group(1)}/speakers",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["speakers"]
    assert [s["claim_type"] for s in speakers].count("self") == 1
