"""Sessions: start, list, read, end (one job however often), delete; only for group members."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.api.audio import tone
from tests.api.conftest import Api


async def test_a_member_starts_a_recording_session(api: Api) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    session = await api.session(ana, group)
    assert session["status"] == "recording"
    assert session["group_id"] == group["id"]
    assert session["started_by"] == str(ana.id)
    assert session["progress"] == 0

    got = await api.client.get(f"/sessions/{session['id']}", headers=ana.headers)
    assert got.status_code == 200
    assert got.json()["id"] == session["id"]


async def test_sessions_of_other_groups_are_404(api: Api) -> None:
    ana, eve = api.user("Ana"), api.user("Eve")
    group = await api.group(ana)
    session = await api.session(ana, group)
    start = await api.client.post(
        "/sessions/start", json={"group_id": group["id"]}, headers=eve.headers
    )
    assert start.status_code == 404
    for method, path in [
        ("GET", f"/sessions/{session['id']}"),
        ("GET", f"/sessions/{session['id']}/status"),
        ("GET", f"/sessions/{session['id']}/speakers"),
        ("GET", f"/sessions/{session['id']}/transcript"),
        ("POST", f"/sessions/{session['id']}/end"),
        ("DELETE", f"/sessions/{session['id']}"),
        ("PUT", f"/sessions/{session['id']}/chunks/0"),
    ]:
        response = await api.client.request(
            method, path, headers={**eve.headers, "Content-Type": "audio/wav"}, content=tone()
        )
        assert response.status_code == 404, (method, path, response.text)
    listed = (await api.client.get("/sessions", headers=eve.headers)).json()
    assert listed["sessions"] == []


async def test_sessions_list_newest_first_in_pages(api: Api) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    ids = [(await api.session(ana, group))["id"] for _ in range(3)]
    first = (await api.client.get("/sessions?limit=2", headers=ana.headers)).json()
    assert [s["id"] for s in first["sessions"]] == ids[::-1][:2]
    assert first["next_offset"] == 2
    rest = (await api.client.get("/sessions?limit=2&offset=2", headers=ana.headers)).json()
    assert [s["id"] for s in rest["sessions"]] == [ids[0]]
    assert rest["next_offset"] is None
    too_many = await api.client.get("/sessions?limit=1000", headers=ana.headers)
    assert too_many.status_code == 400


async def test_sessions_list_of_one_group(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    kopi, makan = await api.group(ana), await api.group(ana)
    in_kopi = [(await api.session(ana, kopi))["id"] for _ in range(3)]
    in_makan = (await api.session(ana, makan))["id"]

    listed = await api.client.get(f"/sessions?group_id={kopi['id']}&limit=2", headers=ana.headers)
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()["sessions"]] == in_kopi[::-1][:2]
    assert listed.json()["next_offset"] == 2
    rest = await api.client.get(
        f"/sessions?group_id={kopi['id']}&limit=2&offset=2", headers=ana.headers
    )
    assert [s["id"] for s in rest.json()["sessions"]] == [in_kopi[0]]
    assert rest.json()["next_offset"] is None
    only = await api.client.get(f"/sessions?group_id={makan['id']}", headers=ana.headers)
    assert [s["id"] for s in only.json()["sessions"]] == [in_makan]
    everything = await api.client.get("/sessions", headers=ana.headers)
    assert len(everything.json()["sessions"]) == 4

    # Another group's id is a 404, as everywhere; a malformed one a 400 that names it.
    hidden = await api.client.get(f"/sessions?group_id={kopi['id']}", headers=ben.headers)
    assert hidden.status_code == 404
    unknown = await api.client.get(f"/sessions?group_id={uuid.uuid4()}", headers=ana.headers)
    assert unknown.status_code == 404
    malformed = await api.client.get("/sessions?group_id=kopi", headers=ana.headers)
    assert malformed.status_code == 400
    assert "group_id" in malformed.text


async def test_ending_without_chunks_is_409_and_queues_nothing(api: Api) -> None:
    ana = api.user("Ana")
    session = await api.session(ana, await api.group(ana))
    response = await api.client.post(f"/sessions/{session['id']}/end", headers=ana.headers)
    assert response.status_code == 409
    assert "no audio chunks" in response.json()["message"]
    assert api.queue.jobs == []
    status = await api.client.get(f"/sessions/{session['id']}/status", headers=ana.headers)
    assert status.json()["status"] == "recording"


async def test_ending_twice_queues_one_job_and_later_uploads_are_409(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    session = await api.session(ana, await api.group(ana, ben))
    sid = session["id"]
    put = await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert put.status_code == 201, put.text

    first = await api.client.post(f"/sessions/{sid}/end", headers=ana.headers)
    again = await api.client.post(f"/sessions/{sid}/end", headers=ben.headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == {"id": sid, "status": "processing"}
    assert again.json()["status"] == "processing"
    assert [(name, args) for name, args, _ in api.queue.jobs] == [
        ("analyze_chunk", (sid, 0)),  # queued when it arrived, to be looked at at once
        ("process_session", (sid,)),
    ]

    status = (await api.client.get(f"/sessions/{sid}/status", headers=ben.headers)).json()
    assert status == {
        "status": "processing",
        "progress": 0,
        "stage": "queued",
        "error_message": None,
    }

    late = await api.client.put(
        f"/sessions/{sid}/chunks/1",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    late_form = await api.client.post(
        f"/sessions/{sid}/upload",
        files={"file": ("c.wav", tone(), "audio/wav")},
        data={"chunk_number": "1"},
        headers=ana.headers,
    )
    assert late.status_code == late_form.status_code == 409
    assert "after the session ended" in late.json()["message"]


async def test_deleting_a_session_removes_its_rows_and_blobs(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    session = await api.session(ana, await api.group(ana, ben))
    sid = session["id"]
    await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    storage = Path(api.settings.resolved_storage_dir) / "sessions" / sid
    assert any(storage.rglob("*.wav"))

    by_member = await api.client.delete(f"/sessions/{sid}", headers=ben.headers)
    assert by_member.status_code == 403
    by_starter = await api.client.delete(f"/sessions/{sid}", headers=ana.headers)
    assert by_starter.status_code == 204
    assert not storage.exists()
    gone = await api.client.get(f"/sessions/{sid}", headers=ana.headers)
    assert gone.status_code == 404


async def test_starting_in_an_unknown_group_is_404(api: Api) -> None:
    response = await api.client.post(
        "/sessions/start", json={"group_id": str(uuid.uuid4())}, headers=api.user("A").headers
    )
    assert response.status_code == 404
