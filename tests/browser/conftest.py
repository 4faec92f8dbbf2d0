"""The try-it page in a real browser: Debian's Chromium, driven by Playwright, on a real server.

The server is ``lahstats serve`` in the embedded mode (what ``make dev`` runs): SQLite, local files,
jobs in-process, the real embedded models. Chromium is the system's (``/usr/bin/chromium``, or
``LAHSTATS_TEST_CHROMIUM``); Playwright never downloads a browser here. Without one the tests
skip, saying why; on CI (``CI=true``) they fail, since ``.ci/run`` installs it.

Screenshots of each step go to ``test-artifacts/browser/`` (``LAHSTATS_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, unavailable

PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LAHSTATS_TEST_ARTIFACTS", PROJECT / "test-artifacts")) / "browser"
CHROMIUM = Path(
    os.environ.get("LAHSTATS_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
# As root in a container: no sandbox. No network: nothing in the background may try to reach out.
# The fake media device gives getUserMedia a microphone (a beep) without a prompt.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def token(self, email: str, name: str) -> str:
        answer = httpx.post(f"{self.url}/dev/token", json={"email": email, "name": name})
        answer.raise_for_status()
        return str(answer.json()["token"])

    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str) -> httpx.Client:
        """An API client signed in with ``token``, closed when the server stops."""
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.clients.append(client)
        return client


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lahstats serve exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code in {200, 503}:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"lahstats serve did not answer within 90 s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``make dev`` in a directory of its own: migrate, then serve on a free port.

    A test module's ``SERVER_ENV`` dict adds settings (``LAHSTATS_...``) for its server.
    """
    root = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "LAHSTATS_DATA_DIR": str(root / "var"),
        "LAHSTATS_LOG_JSON": "true",
        "PYANNOTE_METRICS_ENABLED": "false",
        **getattr(request.module, "SERVER_ENV", {}),
    }
    subprocess.run(
        [sys.executable, "-m", "lahstats", "db", "upgrade"],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = root / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "lahstats", "serve", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", data_dir=root / "var", process=process, log=log
    )
    try:
        _wait_for_health(server.url, process, log)
        yield server
    finally:
        for client in server.clients:
            client.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def no_sideways_scroll(page: Any) -> None:
    """Readable on a phone: nothing is wider than the screen."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    wide = await page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth
                && e.getClientRects().length)
            .map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"""
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways on a phone: {widths}, {wide}"


async def unlabelled_controls(page: Any) -> list[str]:
    """Visible controls a screen reader could not name (no label, text or aria-label)."""
    found: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button, audio, progress')]
            .filter((e) => e.getClientRects().length > 0)
            .filter((e) => {
                const named = e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
                if (e.tagName === 'BUTTON') return !(e.textContent.trim() || named);
                return !((e.labels && e.labels.length) || named);
            })
            .map((e) => e.outerHTML.slice(0, 120))"""
    )
    return found


async def open_page(page: Any, *, reload: bool = False) -> None:
    """Loads (or reloads) the page and waits until its start-up is done."""
    await (page.reload() if reload else page.goto("/"))
    await page.locator("body[data-ready='true']").wait_for(state="attached")


async def page_token(page: Any) -> str:
    """The token the page signed in with (it keeps it in local storage)."""
    token = await page.evaluate("() => localStorage.getItem('lahstats.token')")
    assert token, "the page is not signed in"
    return str(token)


async def create_group(page: Any, name: str) -> str:
    from playwright.async_api import expect

    await page.get_by_label("New group name").fill(name)
    await page.get_by_role("button", name="Create group").click()
    invite = page.locator("#invite-code")
    await expect(invite).not_to_be_empty()
    return (await invite.text_content() or "").strip()


async def sign_in(page: Any, email: str, name: str) -> None:
    await open_page(page)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Display name").fill(name)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.locator("#whoami").get_by_text(f"Signed in as {name}").wait_for()


async def upload_and_process(page: Any, files: list[Path], *, timeout_ms: int = 300_000) -> str:
    """Sends the files as one session's chunks; waits until it is processed; its session id."""
    from playwright.async_api import expect

    await page.get_by_label("Audio files").set_input_files([str(path) for path in files])
    async with page.expect_response("**/sessions/start") as started:
        await page.get_by_role("button", name="Upload and process").click()
    session_id = str((await (await started.value).json())["id"])
    await expect(page.locator("#upload-list li.state-stored")).to_have_count(len(files))
    await expect(page.locator(f"#session[data-session-id='{session_id}']")).to_be_visible()
    await expect(page.locator("#session-status")).to_have_attribute(
        "data-status", "ready_for_claiming", timeout=timeout_ms
    )
    return session_id


def chunk_files(folder: Path) -> list[Path]:
    """A dev recording's chunks, in order (their manifest)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    return [folder / chunk["file"] for chunk in manifest["chunks"]]


@dataclass
class Steps:
    """Saves a full-page screenshot per step, numbered, under the test's own folder."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    async def shot(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def steps(request: pytest.FixtureRequest) -> Steps:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Steps(folder)


@asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Any]:
    """The system's Chromium under Playwright; skips (fails on CI) when either is missing."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        unavailable("Playwright", f"{exc}; run make install")
        raise
    if not CHROMIUM.is_file():  # noqa: ASYNC240 - once per module, before any I/O matters
        unavailable("Chromium", f"no browser at {CHROMIUM}; apt-get install chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors and refused content (CSP)."""

    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.errors, "the page had errors:\n" + "\n".join(self.errors)


@pytest.fixture
async def phone_page(
    browser: Any, live_server: LiveServer
) -> AsyncIterator[tuple[Any, PageProblems]]:
    """A fresh phone-sized tab (its own storage) on the live server, with its errors collected."""
    context = await browser.new_context(
        viewport=PHONE, base_url=live_server.url, accept_downloads=True, permissions=["microphone"]
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    problems = PageProblems()
    page.on("pageerror", lambda error: problems.errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.errors.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield page, problems
    finally:
        await context.close()
