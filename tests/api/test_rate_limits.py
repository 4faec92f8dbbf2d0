"""Per-user rate limits over HTTP: 429 with Retry-After before the body is looked at, per user and
per action, shared by two app processes through Redis, open while Redis is down, off when
disabled, documented in the schema, and defaults that a phone and a web page never hit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from lahstats.settings import Settings
from tests.api.audio import tone
from tests.api.conftest import Api, ApiFactory, User
from tests.api.test_chunks import put_chunk, stored_blobs, upload


def limited(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(
        update={f"rate_limit_{name}": value for name, value in limits.items()}
    )


def assert_rate_limited(response: httpx.Response, what: str) -> int:
    """Checks the 429 and its body; returns Retry-After."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["status_code"] == 429
    assert what in body["message"]
    assert "Retry-After" in body["hint"]
    assert body["request_id"] == response.headers["x-request-id"]
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


async def start(api: Api, user: User, group: dict[str, Any]) -> httpx.Response:
    return await api.client.post(
        "/sessions/start", json={"group_id": group["id"]}, headers=user.headers
    )


async def test_uploads_over_the_limit_are_429_until_retry_after_has_passed(
    settings: Settings, api_for: ApiFactory
) -> None:
    async with api_for(limited(settings, uploads="30/minute", uploads_burst=2)) as api:
        ana = api.user("Ana")
        sid = (await api.session(ana, await api.group(ana)))["id"]
        assert (await put_chunk(api, ana, sid, 0, tone(0.5))).status_code == 201
        assert (await upload(api, ana, sid, 1, tone(0.5))).status_code == 201

        # Refused before the body is read: not audio would be a 415, and nothing is stored.
        refused = await put_chunk(api, ana, sid, 2, b"not audio", "text/plain")
        retry_after = assert_rate_limited(refused, "too many chunk uploads: the limit is 30 per")
        assert retry_after <= 2  # one upload per 2 s
        assert_rate_limited(await upload(api, ana, sid, 2, tone(0.5)), "chunk uploads")
        assert len(stored_blobs(api, sid)) == 2

        await asyncio.sleep(retry_after)
        assert (await put_chunk(api, ana, sid, 2, tone(0.5))).status_code == 201


async def test_limits_are_per_user_and_per_action(settings: Settings, api_for: ApiFactory) -> None:
    config = limited(settings, session_starts="20/hour", session_starts_burst=2, uploads_burst=1)
    async with api_for(config) as api:
        ana, ben = api.user("Ana"), api.user("Ben")
        group = await api.group(ana, ben)
        sid = (await api.session(ana, group))["id"]
        assert (await start(api, ana, group)).status_code == 201
        retry_after = assert_rate_limited(await start(api, ana, group), "too many sessions started")
        assert 179 <= retry_after <= 180  # 20 per hour: one start every 180 s

        assert (await start(api, ben, group)).status_code == 201  # another user
        assert (await put_chunk(api, ana, sid, 0, tone(0.5))).status_code == 201  # another action
        assert_rate_limited(await put_chunk(api, ana, sid, 1, tone(0.5)), "chunk uploads")
        assert_rate_limited(await start(api, ana, group), "sessions started")  # still


async def test_two_app_processes_share_the_limits_through_redis(
    settings: Settings, redis_url: str, queue_name: str, api_for: ApiFactory
) -> None:
    config = limited(
        settings.model_copy(update={"redis_url": redis_url, "queue_name": queue_name}),
        session_starts_burst=2,
    )
    async with api_for(config) as one, api_for(config) as other:
        ana = one.user("Ana")
        group = await one.group(ana)
        assert (await start(one, ana, group)).status_code == 201
        assert (await start(other, ana, group)).status_code == 201
        assert_rate_limited(await start(one, ana, group), "sessions started")
        assert_rate_limited(await start(other, ana, group), "sessions started")


async def test_redis_down_lets_requests_through(
    settings: Settings, dead_redis_url: str, api_for: ApiFactory
) -> None:
    config = limited(
        settings.model_copy(update={"redis_url": dead_redis_url}), session_starts_burst=1
    )
    async with api_for(config) as api:
        ana = api.user("Ana")
        group = await api.group(ana)
        for _ in range(3):
            assert (await start(api, ana, group)).status_code == 201


async def test_disabled_limits_never_refuse(settings: Settings, api_for: ApiFactory) -> None:
    async with api_for(limited(settings, session_starts="off")) as api:
        ana = api.user("Ana")
        group = await api.group(ana)
        for _ in range(12):  # over the default burst of 10
            assert (await start(api, ana, group)).status_code == 201


async def test_the_defaults_take_a_page_uploading_a_dozen_files_at_once(api: Api) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    sids = [(await api.session(ana, group))["id"] for _ in range(3)]
    sent = await asyncio.gather(
        *(upload(api, ana, sids[0], number, tone(0.5, hz=200 + number)) for number in range(12))
    )
    assert [response.status_code for response in sent] == [201] * 12
    assert len(set(sids)) == 3


async def test_the_429_is_documented_on_the_limited_routes(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    routes = [
        ("/sessions/start", "post"),
        ("/sessions/{session_id}/upload", "post"),
        ("/sessions/{session_id}/chunks/{chunk_number}", "put"),
    ]
    for path, method in routes:
        response = schema["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in response["description"]
        ref = response["content"]["application/json"]["schema"]["$ref"]
        error = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert {"message", "hint", "request_id"} <= set(error["required"])
    assert "429" not in schema["paths"]["/sessions/{session_id}"]["get"]["responses"]
