"""``GET /sessions/{id}/export`` on SQLite and PostgreSQL: names from claims, every format,
members only, processed sessions only, and a clear 400 for an unknown format."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import (
    NewSegment,
    NewSpeaker,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)
from tests.api.conftest import Api, ApiFactory, User

COUNTS = {
    "SPEAKER_00": {"lah": 3, "walao": 1},
    "SPEAKER_01": {"shiok": 2},
    "SPEAKER_02": {},
}
SEGMENTS = [
    NewSegment(
        speaker_label="SPEAKER_01",
        start_seconds=4.0,
        end_seconds=6.5,
        raw_text="shook ah this and that",
        corrected_text="shiok ah <this> & that",
    ),
    NewSegment(
        speaker_label="SPEAKER_00",
        start_seconds=0.5,
        end_seconds=3.0,
        raw_text="wa lao la",
        corrected_text="walao, lah",
    ),
    NewSegment(
        speaker_label="SPEAKER_02",
        start_seconds=7.0,
        end_seconds=7.0,
        raw_text="can",
        corrected_text="can",
    ),
    NewSegment(
        speaker_label=None, start_seconds=9.0, end_seconds=10.0, raw_text="mm", corrected_text="mm"
    ),
]


@pytest.fixture
async def api(settings: Settings, database: Database, api_for: ApiFactory) -> AsyncIterator[Api]:
    """The app on each backend; ``database`` empties the tables afterwards."""
    async with api_for(settings.model_copy(update={"database_url": database.url})) as opened:
        yield opened


async def processed(api: Api, owner: User, *members: User) -> str:
    """A session as a finished job leaves it: speakers, counts and a transcript."""
    group = await api.group(owner, *members)
    sid = (await api.session(owner, group))["id"]
    session_id = uuid.UUID(sid)
    async with api.runtime.database.session() as db:
        ids = await SpeakerRepository(db).replace_for_session(
            session_id,
            [
                NewSpeaker(
                    label=label, segment_count=1, total_duration_seconds=2.5, word_counts=counts
                )
                for label, counts in COUNTS.items()
            ],
        )
        await TranscriptRepository(db).replace_for_session(session_id, SEGMENTS, ids)
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.READY_FOR_CLAIMING,
            progress=100,
            stage="done",
            duration_seconds=10.0,
        )
    return sid


async def claim_two(api: Api, user: User, sid: str) -> dict[str, str]:
    """SPEAKER_00 as the user, SPEAKER_01 as a guest; SPEAKER_02 stays unclaimed."""
    listed = await api.client.get(f"/sessions/{sid}/speakers", headers=user.headers)
    ids = {s["speaker_label"]: s["id"] for s in listed.json()["speakers"]}
    for body in (
        {"speaker_id": ids["SPEAKER_00"], "claim_type": "self"},
        {"speaker_id": ids["SPEAKER_01"], "claim_type": "guest", "guest_name": "Uncle Lim"},
    ):
        claimed = await api.client.post(f"/sessions/{sid}/claim", json=body, headers=user.headers)
        assert claimed.status_code == 200, claimed.text
    return ids


async def export(api: Api, user: User, sid: str, fmt: str | None = None) -> Any:
    params = {} if fmt is None else {"format": fmt}
    return await api.client.get(f"/sessions/{sid}/export", params=params, headers=user.headers)


async def test_json_export_names_claimed_speakers_and_orders_segments(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    sid = await processed(api, ana, ben)
    ids = await claim_two(api, ana, sid)

    response = await export(api, ben, sid)  # json by default, for any member
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="lahstats-{sid[:8]}.json"'
    )
    data = response.json()
    assert data["session"]["id"] == sid
    assert data["session"]["status"] == "ready_for_claiming"
    assert data["session"]["duration_seconds"] == 10.0
    assert [
        (s["label"], s["name"], s["claim_type"], s["user_id"], s["word_counts"])
        for s in data["speakers"]
    ] == [
        ("SPEAKER_00", "Ana", "self", str(ana.id), {"lah": 3, "walao": 1}),
        ("SPEAKER_01", "Uncle Lim", "guest", None, {"shiok": 2}),
        ("SPEAKER_02", "SPEAKER_02", None, None, {}),
    ]
    assert [(s["start"], s["speaker"], s["speaker_id"], s["text"]) for s in data["segments"]] == [
        (0.5, "Ana", ids["SPEAKER_00"], "walao, lah"),
        (4.0, "Uncle Lim", ids["SPEAKER_01"], "shiok ah <this> & that"),
        (7.0, "SPEAKER_02", ids["SPEAKER_02"], "can"),
        (9.0, None, None, "mm"),
    ]
    assert data["segments"][0]["heard"] == "wa lao la"


async def test_every_format_has_its_content_type_and_file_name(api: Api) -> None:
    ana = api.user("Ana")
    sid = await processed(api, ana)
    await claim_two(api, ana, sid)
    expected = {
        "csv": "text/csv; charset=utf-8",
        "txt": "text/plain; charset=utf-8",
        "srt": "application/x-subrip",
        "vtt": "text/vtt; charset=utf-8",
    }
    bodies = {}
    for fmt, content_type in expected.items():
        response = await export(api, ana, sid, fmt)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == content_type
        assert response.headers["content-disposition"] == (
            f'attachment; filename="lahstats-{sid[:8]}.{fmt}"'
        )
        bodies[fmt] = response.content.decode()

    rows = list(csv.DictReader(io.StringIO(bodies["csv"], newline="")))
    assert [(r["start"], r["end"], r["speaker"], r["text"]) for r in rows] == [
        ("0.500", "3.000", "Ana", "walao, lah"),
        ("4.000", "6.500", "Uncle Lim", "shiok ah <this> & that"),
        ("7.000", "7.000", "SPEAKER_02", "can"),
        ("9.000", "10.000", "", "mm"),
    ]
    assert bodies["txt"].startswith("[00:00:00.5] Ana: walao, lah\n")
    assert bodies["txt"].endswith(
        "Word counts\nAna: 4 (lah 3, walao 1)\nUncle Lim: 2 (shiok 2)\nSPEAKER_02: 0 (none)\n"
    )
    assert "3\n00:00:07,000 --> 00:00:07,500\nSPEAKER_02: can\n\n" in bodies["srt"]
    assert bodies["vtt"].startswith("WEBVTT\n\n1\n00:00:00.500 --> 00:00:03.000\n<v Ana>")
    assert "<v Uncle Lim>shiok ah &lt;this&gt; &amp; that</v>" in bodies["vtt"]
    # The format name is read case-insensitively.
    assert (await export(api, ana, sid, "SRT")).content.decode() == bodies["srt"]


async def test_other_groups_and_missing_sessions_are_404(api: Api) -> None:
    ana, cat = api.user("Ana"), api.user("Cat")
    sid = await processed(api, ana)
    await api.group(cat)  # Cat exists and has a group, just not Ana's
    outsider = await export(api, cat, sid)
    missing = await export(api, ana, str(uuid.uuid4()))
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json()["message"].startswith("no session")


async def test_a_session_not_processed_yet_is_409_with_a_hint(api: Api) -> None:
    ana = api.user("Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    recording = await export(api, ana, sid, "txt")
    assert recording.status_code == 409
    assert "still recording" in recording.json()["message"]
    assert "ready_for_claiming" in recording.json()["hint"]

    async with api.runtime.database.session() as db:
        await SessionRepository(db).transition(
            uuid.UUID(sid),
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.FAILED,
            error_message="no speech",
        )
    failed = await export(api, ana, sid)
    assert failed.status_code == 409
    assert "failed" in failed.json()["message"]
    assert "error_message" in failed.json()["hint"]


async def test_an_unknown_format_is_400_listing_the_valid_ones(api: Api) -> None:
    ana = api.user("Ana")
    sid = await processed(api, ana)
    response = await export(api, ana, sid, "docx")
    assert response.status_code == 400
    body = response.json()
    assert "'docx'" in body["message"]
    assert "json, csv, txt, srt, vtt" in body["message"]
    assert body["details"]["valid_formats"] == ["json", "csv", "txt", "srt", "vtt"]
    assert body["hint"]
