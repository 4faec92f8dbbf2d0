"""Recording from the microphone: MediaRecorder chunks of 30 s, each a whole file the server takes.

Chromium's fake microphone plays the two-voice fixture (looped). 33 s of recording must arrive as
two chunks (30 s and ~3 s), each decodable on its own, that process into one session of ~33 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from tests.browser.conftest import (
    LiveServer,
    PageProblems,
    Steps,
    chromium,
    create_group,
    page_token,
    sign_in,
)

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/audio/two_speakers.flac"
RECORD_SECONDS = 33


@pytest.fixture(scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """A browser whose microphone plays the fixture (Chromium reads 16-bit PCM WAV only)."""
    voice = tmp_path_factory.mktemp("microphone") / "voice.wav"
    samples, rate = sf.read(FIXTURE, dtype="int16")
    sf.write(voice, samples, rate, subtype="PCM_16")
    async with chromium(f"--use-file-for-fake-audio-capture={voice}") as launched:
        yield launched


async def test_recording_sends_whole_30_second_chunks_that_process(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps
) -> None:
    from playwright.async_api import expect

    page, problems = phone_page
    await sign_in(page, "gus@example.com", "Gus")
    await create_group(page, "Recorders")

    await page.get_by_role("button", name="Start recording").click()
    await expect(page.locator("#record-info")).to_contain_text("Recording")
    await expect(page.get_by_role("button", name="Start recording")).to_be_disabled()
    rows = page.locator("#upload-list li")
    # The first chunk is cut and sent at 30 s, while the recording goes on.
    await expect(rows.first).to_contain_text("Chunk 1: stored", timeout=45_000)
    await steps.shot(page, "recording")
    await page.wait_for_timeout((RECORD_SECONDS - 30) * 1000)
    await page.get_by_role("button", name="Stop and process").click()
    await expect(rows).to_have_count(2, timeout=30_000)
    await expect(rows.nth(1)).to_contain_text("Chunk 2: stored")

    status = page.locator("#session-status")
    await expect(status).to_have_attribute("data-status", "ready_for_claiming", timeout=180_000)
    await expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    api = live_server.client(await page_token(page))
    session = api.get("/sessions").json()["sessions"][0]
    assert session["status"] == "ready_for_claiming"
    # Both chunks decoded: together they hold the whole recording (chunk 1 alone is 30 s).
    assert RECORD_SECONDS - 2 <= session["duration_seconds"] <= RECORD_SECONDS + 4, session
    speakers = api.get(f"/sessions/{session['id']}/speakers").json()["speakers"]
    assert speakers, "the recorded voices were not found"
    await expect(page.locator("article.speaker")).to_have_count(len(speakers))
    await steps.shot(page, "recorded-and-processed")
    problems.check()
