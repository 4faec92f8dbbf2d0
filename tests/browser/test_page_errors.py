"""What the try-it page says when things go wrong: the API's own message and hint, never a blank.

This module's server limits uploads to a burst of one, so that sending three files at once meets
the rate limit and the page has to wait out Retry-After.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tests.browser.conftest import (
    LiveServer,
    PageProblems,
    Steps,
    create_group,
    open_page,
    page_token,
    sign_in,
)

SERVER_ENV = {"LAHSTATS_RATE_LIMIT_UPLOADS": "60/minute", "LAHSTATS_RATE_LIMIT_UPLOADS_BURST": "1"}
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/audio/two_speakers.flac"


async def test_api_errors_are_shown_with_their_message_and_hint(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    page, problems = phone_page
    await sign_in(page, "cai@example.com", "Cai")
    alerts = page.locator("#alerts")

    # A wrong invite code: the API's 404, in its own words.
    async with page.expect_response("**/groups/join") as answer:
        await page.get_by_label("Invite code").fill("NOSUCHCODE")
        await page.get_by_role("button", name="Join group").click()
    refused = await (await answer.value).json()
    assert (await answer.value).status == 404
    await expect(alerts).to_contain_text(f"Joining the group: {refused['message']}")
    await expect(alerts).to_contain_text(refused["hint"])
    await steps.shot(page, "bad-invite-code")
    await alerts.get_by_role("button", name="Dismiss this message").click()
    await expect(alerts.locator("> div")).to_have_count(0)

    # A text file dressed as an mp3: refused with the reason; nothing is kept for it.
    await create_group(page, "Errors")
    fake = tmp_path / "notes.mp3"
    fake.write_text("walao eh this is not audio lah " * 20)
    async with page.expect_response("**/upload") as answer:
        await page.get_by_label("Audio files").set_input_files(str(fake))
        await page.get_by_role("button", name="Upload and process").click()
    refused = await (await answer.value).json()
    assert (await answer.value).status in {415, 422}
    await expect(alerts).to_contain_text(f"notes.mp3 was not accepted: {refused['message']}")
    await expect(alerts).to_contain_text(refused["hint"])
    await expect(page.locator("#upload-list li")).to_contain_text("refused")
    await expect(
        page.get_by_role("button", name="Process the chunks that were stored")
    ).to_be_hidden()
    token = await page_token(page)
    sessions = live_server.client(token).get("/sessions").json()["sessions"]
    assert [session["status"] for session in sessions] == ["recording"]
    await steps.shot(page, "bad-file")
    problems.check()


async def test_uploads_wait_out_the_rate_limit(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps, tmp_path: Path
) -> None:
    """Three chunks at once against a burst of one: the page waits as told and loses none."""
    from playwright.async_api import expect

    page, problems = phone_page
    await sign_in(page, "dee@example.com", "Dee")
    await create_group(page, "Paced")
    samples, rate = sf.read(FIXTURE, dtype="float32")
    parts = np.array_split(samples, 3)
    files = []
    for number, part in enumerate(parts):
        path = tmp_path / f"part{number + 1}.wav"
        sf.write(path, part, rate)
        files.append(str(path))
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: statuses.append(response.status) if "/upload" in response.url else None,
    )
    await page.get_by_label("Audio files").set_input_files(files)
    await page.get_by_role("button", name="Upload and process").click()
    await expect(page.locator("#notice")).to_contain_text("Trying again in")
    await steps.shot(page, "rate-limited")
    rows = page.locator("#upload-list li")
    for number in range(3):
        await expect(rows.nth(number)).to_contain_text(f"part{number + 1}.wav: stored")
    await expect(page.locator("#session-status")).not_to_have_attribute("data-status", "recording")
    assert 429 in statuses, statuses
    assert statuses.count(201) == 3, statuses
    await steps.shot(page, "paced-uploads-stored")
    problems.check()


async def test_a_failed_session_shows_the_reason(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps
) -> None:
    """Its chunk vanished from storage before processing: the session fails, saying which."""
    from playwright.async_api import expect

    page, problems = phone_page
    await sign_in(page, "eve@example.com", "Eve")
    await create_group(page, "Lost")
    token = await page_token(page)
    api = live_server.client(token)
    group_id = api.get("/groups").json()["groups"][0]["id"]
    session_id = api.post("/sessions/start", json={"group_id": group_id}).json()["id"]
    with FIXTURE.open("rb") as audio:
        stored = api.post(
            f"/sessions/{session_id}/upload",
            files={"file": ("one.flac", audio, "audio/flac")},
            data={"chunk_number": "0"},
        )
    assert stored.status_code == 201, stored.text
    chunks = live_server.data_dir / "storage" / "sessions" / session_id / "chunks"
    assert any(chunks.iterdir())
    shutil.rmtree(chunks)

    await open_page(page, reload=True)
    await page.locator(f"#session-list button[data-session-id='{session_id}']").click()
    await expect(page.locator("#session-status")).to_have_attribute("data-status", "recording")
    await page.get_by_role("button", name="End recording and process").click()
    await expect(page.locator("#session-status")).to_have_attribute(
        "data-status", "failed", timeout=60_000
    )
    reason = api.get(f"/sessions/{session_id}").json()["error_message"]
    assert "chunk 0 is missing from storage" in reason
    await expect(page.locator("#session-failed")).to_have_text(f"Processing failed: {reason}")
    await steps.shot(page, "processing-failed")
    problems.check()


async def stored_token(page: Any) -> str | None:
    token: str | None = await page.evaluate("() => localStorage.getItem('lahstats.token')")
    return token


async def test_a_refused_token_returns_to_sign_in_and_a_pasted_one_works(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps
) -> None:
    from playwright.async_api import expect

    page, problems = phone_page
    await open_page(page)
    await page.evaluate("() => localStorage.setItem('lahstats.token', 'not-a-token')")
    await open_page(page, reload=True)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.locator("#notice")).to_contain_text("no longer valid")
    assert await stored_token(page) is None
    await steps.shot(page, "token-refused")

    email = f"{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_label("Access token").fill(live_server.token(email, "Fay"))
    await page.get_by_role("button", name="Use this token").click()
    await expect(page.locator("#whoami")).to_contain_text("Signed in as Fay")
    await expect(page.locator("#groups")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await stored_token(page) is None
    problems.check()
