"""Speakers over HTTP: signed samples, claims (self, member, guest), unclaim, completion,
Wrapped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from lahstats.storage.keys import sample_key
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import NewSpeaker, SessionRepository, SpeakerRepository
from tests.api.audio import tone
from tests.api.conftest import Api, User

COUNTS = {
    "SPEAKER_00": {"lah": 3, "walao": 1},
    "SPEAKER_01": {"lah": 2, "shiok": 4},
    "SPEAKER_02": {"can": 1},
}


async def processed(
    api: Api, owner: User, *members: User
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """A session as a finished job leaves it: speakers with counts and samples, ready to claim."""
    group = await api.group(owner, *members)
    sid = (await api.session(owner, group))["id"]
    session_id = uuid.UUID(sid)
    for label in COUNTS:
        await api.runtime.blobs.put(
            sample_key(session_id, label), tone(5.0, fmt="FLAC"), content_type="audio/flac"
        )
    async with api.runtime.database.session() as db:
        await SpeakerRepository(db).replace_for_session(
            session_id,
            [
                NewSpeaker(
                    label=label,
                    segment_count=3,
                    total_duration_seconds=12.5,
                    word_counts=counts,
                    sample_storage_key=sample_key(session_id, label),
                )
                for label, counts in COUNTS.items()
            ],
        )
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.READY_FOR_CLAIMING,
            progress=100,
            stage="done",
            duration_seconds=600.0,
        )
    listed = await api.client.get(f"/sessions/{sid}/speakers", headers=owner.headers)
    assert listed.status_code == 200, listed.text
    return group, sid, listed.json()["speakers"]


async def claim(api: Api, user: User, sid: str, body: dict[str, Any]) -> Any:
    return await api.client.post(f"/sessions/{sid}/claim", json=body, headers=user.headers)


async def test_speakers_list_counts_and_samples_that_play_without_a_token(api: Api) -> None:
    ana = api.user("Ana")
    _, _sid, speakers = await processed(api, ana)
    assert [s["speaker_label"] for s in speakers] == list(COUNTS)
    assert [s["word_counts"] for s in speakers] == list(COUNTS.values())
    assert all(s["claimed_by"] is None and s["claim_type"] is None for s in speakers)
    url = speakers[0]["sample_audio_url"]
    assert "signature=" in url
    assert "expires=" in url
    sample = await api.client.get(url)  # no Authorization header
    assert sample.status_code == 200
    assert sample.content == tone(5.0, fmt="FLAC")

    tampered = await api.client.get(url.replace("speaker_00", "speaker_01"))
    unsigned = await api.client.get(url.split("?", 1)[0])
    assert tampered.status_code == 401
    assert unsigned.status_code == 400  # expires and signature are required


async def test_claims_attribute_counts_and_the_last_one_completes_the_session(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group, sid, speakers = await processed(api, ana, ben)
    s0, s1, s2 = (s["id"] for s in speakers)
    assert (await claim(api, ana, sid, {"speaker_id": s0, "claim_type": "self"})).json() == {
        "success": True
    }
    again = await claim(api, ben, sid, {"speaker_id": s0, "claim_type": "self"})
    assert again.status_code == 409
    outsider = await claim(
        api, ana, sid, {"speaker_id": s1, "claim_type": "user", "user_id": str(uuid.uuid4())}
    )
    assert outsider.status_code == 422
    assert (
        await claim(api, ana, sid, {"speaker_id": s1, "claim_type": "user", "user_id": str(ben.id)})
    ).status_code == 200
    status = (await api.client.get(f"/sessions/{sid}/status", headers=ana.headers)).json()
    assert status["status"] == "ready_for_claiming"
    assert (
        await claim(
            api, ben, sid, {"speaker_id": s2, "claim_type": "guest", "guest_name": "Uncle Lim"}
        )
    ).status_code == 200
    status = (await api.client.get(f"/sessions/{sid}/status", headers=ana.headers)).json()
    assert status["status"] == "completed"

    listed = (await api.client.get(f"/sessions/{sid}/speakers", headers=ben.headers)).json()
    assert [
        (s["claim_type"], s["attributed_to_user_id"], s["guest_name"]) for s in listed["speakers"]
    ] == [
        ("self", str(ana.id), None),
        ("user", str(ben.id), None),
        ("guest", None, "Uncle Lim"),
    ]

    year = datetime.now(UTC).year
    wrapped = (await api.client.get(f"/users/me/wrapped?year={year}", headers=ana.headers)).json()
    assert wrapped["total_words"] == 4
    assert wrapped["top_words"] == [{"word": "lah", "count": 3}, {"word": "walao", "count": 1}]
    assert wrapped["favorite_word"] == "lah"
    assert wrapped["sessions"] == 1
    assert wrapped["minutes_recorded"] == 10.0
    assert wrapped["by_group"] == {
        group["id"]: {"name": group["name"], "total_words": 4, "favorite_word": "lah"}
    }
    board = (
        await api.client.get(f"/groups/{group['id']}/leaderboard?year={year}", headers=ben.headers)
    ).json()
    assert [(e["rank"], e["display_name"], e["count"]) for e in board["entries"]] == [
        (1, "Ben", 6),
        (2, "Ana", 4),
    ]
    shiok = (
        await api.client.get(
            f"/groups/{group['id']}/leaderboard?year={year}&word=shiok", headers=ben.headers
        )
    ).json()
    assert [(e["display_name"], e["count"]) for e in shiok["entries"]] == [("Ben", 4), ("Ana", 0)]
    unknown = await api.client.get(
        f"/groups/{group['id']}/leaderboard?word=hello", headers=ben.headers
    )
    assert unknown.status_code == 422

    # Unclaiming takes the counts back out and reopens the session.
    by_other = await api.client.delete(
        f"/sessions/{sid}/claim/{s1}", headers=api.user("Cat").headers
    )
    assert by_other.status_code == 404
    undone = await api.client.delete(f"/sessions/{sid}/claim/{s1}", headers=ana.headers)
    assert undone.status_code == 200
    status = (await api.client.get(f"/sessions/{sid}/status", headers=ana.headers)).json()
    assert status["status"] == "ready_for_claiming"
    ben_wrapped = (
        await api.client.get(f"/users/me/wrapped?year={year}", headers=ben.headers)
    ).json()
    assert ben_wrapped["total_words"] == 0


async def test_claiming_before_processing_is_409(api: Api) -> None:
    ana = api.user("Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    response = await claim(api, ana, sid, {"speaker_id": str(uuid.uuid4()), "claim_type": "self"})
    assert response.status_code in (404, 409)
    assert (await api.client.get(f"/sessions/{sid}/speakers", headers=ana.headers)).json() == {
        "speakers": []
    }


async def test_a_claim_with_a_bad_type_is_a_validation_error(api: Api) -> None:
    ana = api.user("Ana")
    _, sid, speakers = await processed(api, ana)
    response = await claim(api, ana, sid, {"speaker_id": speakers[0]["id"], "claim_type": "boss"})
    assert response.status_code == 400
    guestless = await claim(api, ana, sid, {"speaker_id": speakers[0]["id"], "claim_type": "guest"})
    assert guestless.status_code == 422
