"""A group's words over HTTP: add, list (built-ins flagged), delete, recount; members only."""

from __future__ import annotations

import uuid
from typing import Any

from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import Analysis
from lahstats.sessions.results import new_segments, new_speakers, recognition_json
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    RecognitionRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from tests.api.conftest import Api, User
from tests.pipeline.heard import HEARD, TURNS

MAKAN = {"word": "makan", "variants": ["makin", "make an"], "pronunciation": "M AA K AA N"}


def words_url(group: dict[str, Any]) -> str:
    return f"/groups/{group['id']}/words"


async def test_a_member_adds_lists_and_removes_a_word(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group = await api.group(ana, ben)
    url = words_url(group)

    added = await api.client.post(url, json=MAKAN, headers=ben.headers)
    assert added.status_code == 201, added.text
    body = added.json()
    assert {k: body[k] for k in ("word", "builtin", "variants", "pronunciations")} == {
        "word": "makan",
        "builtin": False,
        "variants": ["makin", "make an"],
        "pronunciations": ["M AA K AA N"],
    }
    assert body["created_by"] == str(ben.id)
    assert body["created_at"]

    listed = await api.client.get(url, headers=ana.headers)
    assert listed.status_code == 200
    words = listed.json()["words"]
    assert [w["word"] for w in words] == [*load_lexicon().words, "makan"]
    assert all(w["builtin"] for w in words[:-1])
    lah = next(w for w in words if w["word"] == "lah")
    assert lah["pronunciations"] == ["L AA"]
    assert (lah["created_by"], lah["created_at"]) == (None, None)

    removed = await api.client.delete(f"{url}/makan", headers=ana.headers)  # any member
    assert removed.status_code == 204, removed.text
    again = await api.client.delete(f"{url}/makan", headers=ana.headers)
    assert again.status_code == 404
    assert "does not track 'makan'" in again.json()["message"]
    listed = await api.client.get(url, headers=ana.headers)
    assert "makan" not in [w["word"] for w in listed.json()["words"]]


async def test_bad_and_clashing_words_say_what_to_fix(api: Api) -> None:
    ana = api.user("Ana")
    url = words_url(await api.group(ana))

    bad = await api.client.post(url, json={"word": "makan lah"}, headers=ana.headers)
    assert bad.status_code == 422
    assert "one word" in bad.json()["message"]
    assert "variants" in bad.json()["hint"]
    phones = await api.client.post(
        url, json={"word": "makan", "pronunciation": "M AA Q"}, headers=ana.headers
    )
    assert phones.status_code == 422
    assert "ARPAbet" in phones.json()["message"]
    builtin = await api.client.post(url, json={"word": "Lah"}, headers=ana.headers)
    assert builtin.status_code == 409
    assert "built-in" in builtin.json()["message"]
    assert (await api.client.post(url, json=MAKAN, headers=ana.headers)).status_code == 201
    twice = await api.client.post(url, json=MAKAN, headers=ana.headers)
    assert twice.status_code == 409
    no_word = await api.client.post(url, json={"variants": ["makin"]}, headers=ana.headers)
    assert no_word.status_code == 400  # no word at all: the body itself is wrong

    removed = await api.client.delete(f"{url}/lah", headers=ana.headers)
    assert removed.status_code == 409
    assert removed.json()["message"] == "built-in words cannot be removed"


async def test_another_groups_words_answer_404(api: Api) -> None:
    ana, stranger = api.user("Ana"), api.user("Stranger")
    group = await api.group(ana)
    url = words_url(group)
    assert (await api.client.post(url, json=MAKAN, headers=ana.headers)).status_code == 201

    for response in (
        await api.client.get(url, headers=stranger.headers),
        await api.client.post(url, json={"word": "chope"}, headers=stranger.headers),
        await api.client.delete(f"{url}/makan", headers=stranger.headers),
        await api.client.post(f"{url}/recount", headers=stranger.headers),
        await api.client.get(f"/groups/{uuid.uuid4()}/words", headers=ana.headers),
    ):
        assert response.status_code == 404, response.text
    assert (await api.client.get(url)).status_code == 401


async def _processed_session(api: Api, user: User, group: dict[str, Any]) -> str:
    """A session as the job leaves it, with the built-in words and its recognition stored."""
    sid = str((await api.session(user, group))["id"])
    session_id = uuid.UUID(sid)
    found = recount(HEARD, TURNS, load_lexicon())
    analysis = Analysis(
        duration=13.0,
        turns=TURNS,
        words=found.words,
        segments=found.segments,
        counts=found.counts,
        heard=HEARD,
    )
    heard, turns = recognition_json(analysis)
    async with api.runtime.database.session() as db:
        ids = await SpeakerRepository(db).replace_for_session(
            session_id, new_speakers(analysis, {})
        )
        await TranscriptRepository(db).replace_for_session(session_id, new_segments(analysis), ids)
        await RecognitionRepository(db).replace(session_id, heard=heard, turns=turns)
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.READY_FOR_CLAIMING,
            progress=100,
            stage="done",
            duration_seconds=13.0,
        )
    return sid


async def test_recount_counts_a_new_word_in_past_sessions(api: Api) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    sid = await _processed_session(api, ana, group)
    url = words_url(group)
    assert (await api.client.post(url, json=MAKAN, headers=ana.headers)).status_code == 201

    recounted = await api.client.post(f"{url}/recount", headers=ana.headers)

    assert recounted.status_code == 200, recounted.text
    assert recounted.json() == {
        "sessions_recounted": 1,
        "sessions_skipped": 0,
        "counts_changed": 1,
        "skipped_session_ids": [],
    }
    speakers = (await api.client.get(f"/sessions/{sid}/speakers", headers=ana.headers)).json()
    counts = {s["speaker_label"]: s["word_counts"] for s in speakers["speakers"]}
    assert counts["SPEAKER_01"] == {"can": 1, "lor": 1, "makan": 3}
    transcript = (await api.client.get(f"/sessions/{sid}/transcript", headers=ana.headers)).json()
    assert " ".join(line["text"] for line in transcript["segments"]).count("makan") == 3

    # Claimed, the new word reaches the group's leaderboard like a built-in one.
    speaker = next(s for s in speakers["speakers"] if s["speaker_label"] == "SPEAKER_01")
    claimed = await api.client.post(
        f"/sessions/{sid}/claim",
        json={"speaker_id": speaker["id"], "claim_type": "self"},
        headers=ana.headers,
    )
    assert claimed.status_code == 200, claimed.text
    board = await api.client.get(
        f"/groups/{group['id']}/leaderboard?word=makan", headers=ana.headers
    )
    assert board.status_code == 200, board.text
    assert [(e["display_name"], e["count"]) for e in board.json()["entries"]] == [("Ana", 3)]


async def test_a_word_named_like_the_recount_route_can_still_be_removed(api: Api) -> None:
    ana = api.user("Ana")
    url = words_url(await api.group(ana))
    assert (
        await api.client.post(url, json={"word": "recount"}, headers=ana.headers)
    ).status_code == 201

    removed = await api.client.delete(f"{url}/recount", headers=ana.headers)

    assert removed.status_code == 204, removed.text
