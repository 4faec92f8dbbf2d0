"""Recording from the microphone: MediaRecorder chunks of 30 s, each a whole file the server takes.

Chromium's fake microphone plays the two-voice fixture (looped). 50 s or more of recording must
arrive as whole chunks (30 s each and the rest), each decodable on its own, that process into one
session; the first is looked at while the recording goes on, and the live meter shows its words.
"""

from __future__ import annotations

import math
import re
import time
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
# Stopped at 50 s or once the first chunk has been looked at, if later: its counts reach the
# meter while recording goes on (models loaded by the first chunk job included, on a busy CPU).
RECORD_SECONDS = 50
LOOK_MS = 80_000


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
    started = time.monotonic()
    await expect(page.locator("#record-info")).to_contain_text("Recording")
    await expect(page.get_by_role("button", name="Start recording")).to_be_disabled()
    rows = page.locator("#upload-list li")
    # The first chunk is cut and sent at 30 s, while the recording goes on.
    await expect(rows.first).to_contain_text("Chunk 1: stored", timeout=45_000)
    # ... and is looked at while the recording goes on: the live meter moves with its words.
    meter = page.locator("#live-meter")
    await expect(meter).to_have_attribute("data-chunks", re.compile(r"[1-9]"), timeout=LOOK_MS)
    await expect(meter).to_contain_text("provisional")
    await expect(meter).to_contain_text(re.compile(r"\b(lah|lor|can|walao) \d"))
    await steps.shot(page, "recording")
    await page.wait_for_timeout(max(0, started + RECORD_SECONDS - time.monotonic()) * 1000)
    await page.get_by_role("button", name="Stop and process").click()
    recorded = time.monotonic() - started
    await expect(page.locator("#record-info")).to_have_text("", timeout=30_000)  # last one sent
    sent = math.ceil(recorded / 30)  # one chunk every 30 s and the rest
    await expect(rows).to_have_count(sent)
    for number in range(sent):
        await expect(rows.nth(number)).to_contain_text(f"Chunk {number + 1}: stored")

    status = page.locator("#session-status")
    await expect(status).to_have_attribute("data-status", "ready_for_claiming", timeout=180_000)
    await expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    api = live_server.client(await page_token(page))
    session = api.get("/sessions").json()["sessions"][0]
    assert session["status"] == "ready_for_claiming"
    # Every chunk decoded: together they hold the whole recording (chunk 1 alone is 30 s).
    assert recorded - 3 <= session["duration_seconds"] <= recorded + 2, session
    speakers = api.get(f"/sessions/{session['id']}/speakers").json()["speakers"]
    assert speakers, "the recorded voices were not found"
    await expect(page.locator("article.speaker")).to_have_count(len(speakers))
    await steps.shot(page, "recorded-and-processed")
    problems.check()
