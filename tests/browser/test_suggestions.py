"""Voices across sessions on the page: a voice claimed in one session is suggested in the next.

The dev pair of sessions shares voice d04. Ana claims d04 as herself in the first; in the second,
the page offers "Sounds like you" on exactly d04's card, and one tap claims it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lahstats.evaluation.metrics import map_speakers
from lahstats.evaluation.rttm import read_rttm
from lahstats.pipeline.types import Turn
from tests.browser.conftest import (
    LiveServer,
    PageProblems,
    Steps,
    chunk_files,
    create_group,
    page_token,
    sign_in,
    upload_and_process,
)

pytestmark = pytest.mark.slow

SESSIONS = Path("dev/synthetic/sessions")


def voice_of(api: Any, session_id: str, rttm: Path, voice: str) -> str:
    """The id of the session's speaker that is the reference voice, from the transcript's timing."""
    lines = api.get(f"/sessions/{session_id}/transcript").json()["segments"]
    turns = [
        Turn(line["speaker_id"], line["start_seconds"], line["end_seconds"])
        for line in lines
        if line["speaker_id"] and line["end_seconds"] > line["start_seconds"]
    ]
    found = map_speakers(read_rttm(rttm), turns)
    return next(speaker for speaker, reference in found.items() if reference == voice)


async def test_a_claimed_voice_is_offered_in_the_next_session(
    live_server: LiveServer,
    phone_page: tuple[Any, PageProblems],
    steps: Steps,
    shared_data: Path,
) -> None:
    from playwright.async_api import expect

    page, problems = phone_page
    folder = shared_data / SESSIONS
    await sign_in(page, "ana@example.com", "Ana")
    await create_group(page, "Makan kakis")
    api = live_server.client(await page_token(page))

    first = await upload_and_process(page, chunk_files(folder / "dev_session1_chunks"))
    d04 = voice_of(api, first, folder / "dev_session1.rttm", "d04")
    card = page.locator(f"article.speaker[data-speaker-id='{d04}']")
    await expect(card.locator(".suggestion")).to_have_count(0)
    await card.get_by_role("button", name="This is me").click()
    await expect(card).to_have_attribute("data-claimed", "true")

    second = await upload_and_process(page, chunk_files(folder / "dev_session2_chunks"))
    d04 = voice_of(api, second, folder / "dev_session2.rttm", "d04")
    offered = page.locator("article.speaker .suggestion")
    await expect(offered).to_have_count(1)
    card = page.locator(f"article.speaker[data-speaker-id='{d04}']")
    suggestion = card.locator(".suggestion")
    await expect(suggestion).to_contain_text("Sounds like you (")
    await steps.shot(page, "suggested")
    await suggestion.get_by_role("button", name="Yes, it's you").click()
    await expect(card).to_have_attribute("data-claimed", "true")
    await expect(card).to_contain_text("Claimed as You")
    claimed = next(
        speaker
        for speaker in api.get(f"/sessions/{second}/speakers").json()["speakers"]
        if speaker["id"] == d04
    )
    assert claimed["claim_type"] == "self"
    await steps.shot(page, "suggestion-taken")
    problems.check()
