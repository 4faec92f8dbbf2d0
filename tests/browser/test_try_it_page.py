"""The try-it page end to end: what someone who has just run ``make dev`` does in a browser.

Sign in, create a group (a friend joins it), upload a dev conversation as chunks, watch it process,
play a sample, claim every speaker, and check that Wrapped and the leaderboard show the numbers the
claimed speakers add up to. Each step leaves a screenshot in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    LiveServer,
    PageProblems,
    Steps,
    chunk_files,
    create_group,
    no_sideways_scroll,
    open_page,
    page_token,
    sign_in,
    unlabelled_controls,
)

pytestmark = pytest.mark.slow

PROCESSING_TIMEOUT_MS = 300_000


async def test_a_dev_conversation_from_sign_in_to_wrapped(
    live_server: LiveServer,
    phone_page: tuple[Any, PageProblems],
    steps: Steps,
    shared_data: Path,
) -> None:
    from playwright.async_api import expect

    page, problems = phone_page
    chunks = chunk_files(shared_data / "dev/synthetic/conversations/dev_conv04_chunks")
    assert {path.suffix for path in chunks} >= {".webm", ".m4a", ".mp3", ".wav"}

    # Sign in with the development form.
    await open_page(page)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await steps.shot(page, "sign-in")
    await sign_in(page, "ana@example.com", "Ana")
    await steps.shot(page, "signed-in")

    # Create a group; its invite code is shown, and a friend joins with it.
    code = await create_group(page, "Kopi Kakis")
    ben = live_server.client(live_server.token("ben@example.com", "Ben"))
    assert ben.post("/groups/join", json={"invite_code": code}).status_code == 200
    await open_page(page, reload=True)
    members = page.locator("#members li")
    await expect(members).to_have_count(2)
    await expect(members.filter(has_text="Ben")).to_have_count(1)
    await no_sideways_scroll(page)
    await steps.shot(page, "group")

    # Upload the conversation's four chunks (webm, m4a, mp3, wav) as one session.
    await page.get_by_label("Audio files").set_input_files([str(path) for path in chunks])
    async with page.expect_response("**/sessions/start") as started:
        await page.get_by_role("button", name="Upload and process").click()
    session_id = str((await (await started.value).json())["id"])
    rows = page.locator("#upload-list li")
    await expect(rows).to_have_count(len(chunks))
    for number, path in enumerate(chunks):
        await expect(rows.nth(number)).to_contain_text(f"Chunk {number + 1}: {path.name}: stored")

    # Progress streams in (server-sent events) until the speakers are ready.
    await expect(page.locator(f"#session[data-session-id='{session_id}']")).to_be_visible()
    status = page.locator("#session-status")
    progress = page.locator("#session-progress")
    seen: list[int] = []
    while (await status.get_attribute("data-status")) == "processing":
        value = int(await progress.get_attribute("value") or 0)
        if not seen or value != seen[-1]:
            seen.append(value)
            if len(seen) == 3:
                await steps.shot(page, "processing")
        await page.wait_for_timeout(100)
    await expect(status).to_have_attribute(
        "data-status", "ready_for_claiming", timeout=PROCESSING_TIMEOUT_MS
    )
    assert len(seen) >= 3, f"progress did not move on the page: {seen}"
    assert seen == sorted(seen), f"progress went back: {seen}"
    await steps.shot(page, "processed")

    ana = live_server.client(await page_token(page))
    found = ana.get(f"/sessions/{session_id}/speakers").json()["speakers"]
    cards = page.locator("article.speaker")
    await expect(cards).to_have_count(len(found))
    assert len(found) >= 2, "the conversation has 2-4 voices; the pipeline found fewer"

    # Play the first speaker's sample: it loads, has a few seconds of audio, and plays.
    audio = cards.first.locator("audio")
    played = await audio.evaluate(
        """async (element) => {
            await element.play();
            await new Promise((resolve) => setTimeout(resolve, 1200));
            element.pause();
            return {time: element.currentTime, duration: element.duration, error: element.error};
        }"""
    )
    assert played["error"] is None
    assert played["time"] > 0.3, played
    assert 1 <= played["duration"] <= 10, played
    assert await unlabelled_controls(page) == []
    await steps.shot(page, "sample-played")

    # Claim every speaker: the first is me, the second Ben, the rest guests.
    by_id = {speaker["id"]: speaker for speaker in found}
    order = [await cards.nth(i).get_attribute("data-speaker-id") for i in range(len(found))]
    for index in range(len(found)):
        card = page.locator(f"article.speaker[data-speaker-id='{order[index]}']")
        if index == 0:
            await card.get_by_role("button", name=f"This is me (speaker {index + 1})").click()
        elif index == 1:
            await card.get_by_label("A member").select_option(label="Ben")
            await card.get_by_role("button", name="Claim for member").click()
        else:
            await card.get_by_label("A guest").fill(f"Guest {index + 1}")
            await card.get_by_role("button", name="Claim as guest").click()
        await expect(card).to_have_attribute("data-claimed", "true")
        # The cards are drawn again; the keyboard's focus stays with this speaker.
        await expect(card.locator("h4")).to_be_focused()
    await expect(status).to_have_attribute("data-status", "completed")
    await expect(page.locator("article.speaker").first).to_contain_text("Claimed as You")

    # Unclaiming reopens the session; claiming again completes it.
    last = page.locator(f"article.speaker[data-speaker-id='{order[-1]}']")
    await last.get_by_role("button", name=f"Unclaim speaker {len(order)}").click()
    await expect(last).to_have_attribute("data-claimed", "false")
    await expect(status).to_have_attribute("data-status", "ready_for_claiming")
    await last.get_by_label("A guest").fill("Uncle Lim")
    await last.get_by_role("button", name="Claim as guest").click()
    await expect(last).to_contain_text("Claimed as Uncle Lim (guest)")
    await expect(status).to_have_attribute("data-status", "completed")
    await expect(page.locator("#transcript li").first).to_be_visible()
    assert await unlabelled_controls(page) == []
    await steps.shot(page, "claimed")

    # Wrapped shows exactly what the speaker claimed as me said.
    mine = Counter({w: n for w, n in by_id[order[0]]["word_counts"].items() if n})
    bens = sum(by_id[order[1]]["word_counts"].values())
    duration = ana.get(f"/sessions/{session_id}").json()["duration_seconds"]
    wrapped = page.locator("#wrapped")
    await wrapped.scroll_into_view_if_needed()
    await expect(page.locator("#wrapped-total")).to_have_text(str(sum(mine.values())))
    await expect(page.locator("#wrapped-sessions")).to_have_text("1")
    await expect(page.locator("#wrapped-minutes")).to_have_text(_one_decimal(duration / 60))
    bars = page.locator("#top-words li")
    await expect(bars).to_have_count(len(mine))
    shown = {
        await bars.nth(i).get_attribute("data-word"): int(
            await bars.nth(i).get_attribute("data-count") or -1
        )
        for i in range(len(mine))
    }
    assert shown == dict(mine)
    counts_in_order = [
        int(await bars.nth(i).get_attribute("data-count") or -1) for i in range(len(mine))
    ]
    assert counts_in_order == sorted(counts_in_order, reverse=True)
    if mine:
        top_count = max(mine.values())
        favourite = await page.locator("#wrapped-favourite").text_content()
        assert mine[favourite or ""] == top_count
        widest = await bars.first.locator(".fill").evaluate("(e) => e.style.width")
        assert widest == "100%"
    this_month = datetime.now(UTC).month
    month = page.locator(f"#by-month li[data-month='{this_month}']")
    await expect(month).to_have_attribute("data-count", str(sum(mine.values())))

    # The group's leaderboard ranks Ana and Ben by what their speakers said.
    rows_by_user = {
        "Ana": str(sum(mine.values())),
        "Ben": str(bens),
    }
    table = page.locator("#leaderboard tbody tr")
    await expect(table).to_have_count(2)
    for name, count in rows_by_user.items():
        row = table.filter(has_text=name)
        await expect(row.locator("td").nth(2)).to_have_text(count)
    # Ranked by one word: each member's count of that word.
    word = max(mine, key=lambda w: mine[w]) if mine else "lah"
    counts = {"Ana": mine[word], "Ben": by_id[order[1]]["word_counts"].get(word, 0)}
    await page.get_by_label("Rank by").select_option(word)
    await expect(page.locator("#leaderboard-title")).to_contain_text(word)
    ranked = page.locator("#leaderboard tbody tr")
    for name, count in counts.items():
        if count:
            await expect(ranked.filter(has_text=name).locator("td").nth(2)).to_have_text(str(count))
    await page.get_by_label("Rank by").select_option("")
    await expect(ranked).to_have_count(2)
    await no_sideways_scroll(page)
    await wrapped.screenshot(path=str(steps.folder / "wrapped-chart.png"))
    await steps.shot(page, "wrapped")

    # The export downloads the processed session.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="JSON").click()
    download = await download_info.value
    exported = json.loads(await download_text(download))
    assert len(exported["speakers"]) == len(found)
    problems.check()


async def download_text(download: Any) -> str:
    path = await download.path()
    return await asyncio.to_thread(Path(path).read_text)


def _one_decimal(minutes: float) -> str:
    """How the page writes minutes: JavaScript's Math.round(x * 10) / 10, then String()."""
    rounded = round(minutes * 10 + 1e-9) / 10
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


async def test_signing_in_and_making_a_group_by_keyboard_alone(
    live_server: LiveServer, phone_page: tuple[Any, PageProblems], steps: Steps
) -> None:
    """Tab moves through the controls in reading order; Enter submits; focus is always shown."""
    from playwright.async_api import expect

    page, problems = phone_page
    await open_page(page)
    keyboard = page.keyboard
    await keyboard.press("Tab")  # the skip link comes first
    assert await page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    await keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.id") == "dev-email"
    await keyboard.type("kim@example.com")
    await keyboard.press("Tab")
    await keyboard.type("Kim")
    await keyboard.press("Enter")
    await expect(page.locator("#whoami")).to_contain_text("Signed in as Kim")
    # The form is gone; focus goes on from the next step's heading, then into its first field.
    await expect(page.locator("#groups-title")).to_be_focused()
    await keyboard.press("Tab")
    await expect(page.get_by_label("New group name")).to_be_focused()
    await keyboard.type("Keyboard kakis")
    await keyboard.press("Enter")
    await expect(page.locator("#invite-code")).not_to_be_empty()
    create = page.get_by_role("button", name="Create group")
    await expect(create).to_be_enabled()  # off while the request was under way
    await expect(page.get_by_label("New group name")).to_be_focused()
    await keyboard.press("Tab")
    await expect(create).to_be_focused()
    await keyboard.press("Tab")
    focused = await page.evaluate(
        "() => [document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused[0] == "invite-input"
    assert focused[1] != "none", "the focused control shows no outline"
    assert await unlabelled_controls(page) == []
    await steps.shot(page, "keyboard")
    problems.check()
