"""``GET /sessions/{id}/events``: progress as server-sent events, ending with the final status."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from lahstats.settings import Settings
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import EventRepository, SessionRepository
from tests.api.audio import tone
from tests.api.conftest import Api, ApiFactory, User


async def processing_session(api: Api) -> tuple[User, str]:
    ana = api.user("Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert (await api.client.post(f"/sessions/{sid}/end", headers=ana.headers)).status_code == 202
    return ana, sid


async def play_job(api: Api, sid: str, steps: list[tuple[str, int]], final: SessionStatus) -> None:
    """What a job writes, slowly enough that the stream has to wait for it."""
    session_id = uuid.UUID(sid)
    for stage, progress in steps:
        await asyncio.sleep(0.2)
        async with api.runtime.database.session() as db:
            await EventRepository(db).append(session_id, stage=stage, progress=progress)
    async with api.runtime.database.session() as db:
        await EventRepository(db).append(session_id, stage="done", progress=100)
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.PROCESSING],
            to_status=final,
            progress=100,
            stage="done",
        )


def parse_sse(text: str) -> list[dict[str, Any]]:
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value.lstrip(" ")
        if "data" in fields:
            # A browser dispatches any block with a data line, even an empty one.
            assert fields["data"], f"an event with empty data: {block!r}"
            fields["data"] = json.loads(fields["data"])
            messages.append(fields)
    return messages


async def test_the_stream_sends_each_event_then_the_final_status_and_ends(api: Api) -> None:
    ana, sid = await processing_session(api)
    job = asyncio.create_task(
        play_job(
            api,
            sid,
            [("decode", 5), ("diarize", 25), ("transcribe", 60)],
            SessionStatus.READY_FOR_CLAIMING,
        )
    )
    async with asyncio.timeout(20):
        response = await api.client.get(f"/sessions/{sid}/events", headers=ana.headers)
    await job
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = parse_sse(response.text)
    progress = [
        (m["data"]["stage"], m["data"]["progress"]) for m in messages if m["event"] == "progress"
    ]
    assert progress == [
        ("queued", 0),
        ("decode", 5),
        ("diarize", 25),
        ("transcribe", 60),
        ("done", 100),
    ]
    ids = [int(m["id"]) for m in messages if m["event"] == "progress"]
    assert ids == sorted(ids)
    assert messages[-1]["event"] == "status"
    assert messages[-1]["data"]["status"] == "ready_for_claiming"

    # Resuming after an id sends only what came later; a finished session's stream ends at once.
    resumed = await api.client.get(
        f"/sessions/{sid}/events", headers={**ana.headers, "Last-Event-ID": str(ids[2])}
    )
    later = [m["data"]["stage"] for m in parse_sse(resumed.text) if m["event"] == "progress"]
    assert later == ["transcribe", "done"]


async def test_a_failed_session_ends_the_stream_with_its_reason(api: Api) -> None:
    ana, sid = await processing_session(api)
    async with api.runtime.database.session() as db:
        await SessionRepository(db).transition(
            uuid.UUID(sid),
            from_statuses=[SessionStatus.PROCESSING],
            to_status=SessionStatus.FAILED,
            stage="failed",
            error_message="chunk 0 could not be decoded",
        )
    response = await api.client.get(f"/sessions/{sid}/events", headers=ana.headers)
    final = parse_sse(response.text)[-1]
    assert final["event"] == "status"
    assert final["data"]["status"] == "failed"
    assert final["data"]["error_message"] == "chunk 0 could not be decoded"


async def test_the_stream_takes_the_token_as_a_query_parameter(api: Api) -> None:
    ana, sid = await processing_session(api)
    token = ana.headers["Authorization"].removeprefix("Bearer ")
    job = asyncio.create_task(play_job(api, sid, [], SessionStatus.READY_FOR_CLAIMING))
    response = await api.client.get(f"/sessions/{sid}/events?access_token={token}")
    await job
    assert response.status_code == 200
    assert parse_sse(response.text)[-1]["data"]["status"] == "ready_for_claiming"
    elsewhere = await api.client.get(f"/sessions/{sid}/status?access_token={token}")
    assert elsewhere.status_code == 401  # only the event stream takes it from the URL


async def test_non_members_get_404_not_a_stream(api: Api) -> None:
    _, sid = await processing_session(api)
    response = await api.client.get(f"/sessions/{sid}/events", headers=api.user("Eve").headers)
    assert response.status_code == 404


async def test_a_quiet_stream_sends_comments_that_clients_do_not_see_as_messages(
    settings: Settings, api_for: ApiFactory
) -> None:
    async with api_for(settings.model_copy(update={"events_keepalive_seconds": 0.2})) as api:
        ana, sid = await processing_session(api)

        async def slow_job() -> None:
            await asyncio.sleep(1.5)
            await play_job(api, sid, [], SessionStatus.READY_FOR_CLAIMING)

        job = asyncio.create_task(slow_job())
        async with asyncio.timeout(20):
            response = await api.client.get(f"/sessions/{sid}/events", headers=ana.headers)
        await job
    raw = response.text.replace("\r\n", "\n")
    assert raw.count(": keep-alive") >= 2
    for block in raw.split("\n\n"):
        if ": keep-alive" in block:
            assert "data:" not in block
            assert "event:" not in block
    assert [m["event"] for m in parse_sse(response.text)] == ["progress", "progress", "status"]
