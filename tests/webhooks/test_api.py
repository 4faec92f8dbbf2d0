"""``/groups/{id}/webhooks`` over HTTP on SQLite and PostgreSQL: who may do what, the secret
shown once, bad URLs, the delivery log, and a claim's event delivered by the app's own
dispatcher to a real receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from lahstats.api.app import create_app
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import SessionStatus
from lahstats.storage.repositories import NewSpeaker, SessionRepository, SpeakerRepository
from lahstats.webhooks.signing import verify
from tests.api.conftest import Api, RecordingQueue, User, serving
from tests.webhooks.conftest import move
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[Api]:
    """The app on the ``database`` backend, its dispatcher polling every 50 ms."""
    served = settings.model_copy(
        update={"database_url": database.url, "webhook_poll_seconds": 0.05}
    )
    runtime = replace(Runtime.build(served), queue=RecordingQueue())
    async with serving(create_app(served, runtime=runtime)) as client:
        yield Api(client, served, runtime)


def hooks(group: dict[str, Any]) -> str:
    return f"/groups/{group['id']}/webhooks"


async def register(api: Api, user: User, group: dict[str, Any], url: str) -> Any:
    return await api.client.post(hooks(group), json={"url": url}, headers=user.headers)


async def eventually(check: Any, *, seconds: float = 10) -> Any:
    """Polls ``check()`` until it returns something truthy; fails after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not (found := await check()):  # noqa: ASYNC110 - a database row has no event
            await asyncio.sleep(0.02)
    return found


async def test_the_owner_registers_members_list_without_the_secret(
    api: Api, receiver: Receiver
) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group = await api.group(ana, ben)

    created = await register(api, ana, group, receiver.url)

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "url", "secret", "created_at"}
    assert body["url"] == receiver.url
    assert body["secret"].startswith("whsec_")
    listed = await api.client.get(hooks(group), headers=ben.headers)
    assert listed.status_code == 200
    assert [(w["id"], w["url"], w["created_by"]) for w in listed.json()["webhooks"]] == [
        (body["id"], receiver.url, str(ana.id))
    ]
    assert body["secret"] not in listed.text
    assert "secret" not in listed.text

    by_member = await register(api, ben, group, receiver.url + "?member")
    assert by_member.status_code == 403
    assert "owner" in by_member.json()["message"]
    assert "Ask the group's owner" in by_member.json()["hint"]
    deleted_by_member = await api.client.delete(f"{hooks(group)}/{body['id']}", headers=ben.headers)
    assert deleted_by_member.status_code == 403

    deleted = await api.client.delete(f"{hooks(group)}/{body['id']}", headers=ana.headers)
    assert deleted.status_code == 204
    assert (await api.client.get(hooks(group), headers=ana.headers)).json() == {"webhooks": []}
    again = await api.client.delete(f"{hooks(group)}/{body['id']}", headers=ana.headers)
    assert again.status_code == 404


async def test_another_group_answers_404_like_a_missing_one(api: Api, receiver: Receiver) -> None:
    ana, cat = api.user("Ana"), api.user("Cat")
    group = await api.group(ana)
    webhook = (await register(api, ana, group, receiver.url)).json()
    missing = {"id": str(uuid.uuid4())}

    for who, which in [(cat, group), (ana, missing)]:
        answers = [
            await api.client.get(hooks(which), headers=who.headers),
            await api.client.get(f"{hooks(which)}/deliveries", headers=who.headers),
            await register(api, who, which, receiver.url + "?other"),
            await api.client.delete(f"{hooks(which)}/{webhook['id']}", headers=who.headers),
        ]
        assert [answer.status_code for answer in answers] == [404, 404, 404, 404]

    other = await api.group(cat, name="Other gang")
    crossed = await api.client.delete(f"{hooks(other)}/{webhook['id']}", headers=cat.headers)
    assert crossed.status_code == 404  # a webhook of another group, through one's own
    assert len((await api.client.get(hooks(group), headers=ana.headers)).json()["webhooks"]) == 1


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        pytest.param("ftp://example.com/hook", 422, "http or https", id="scheme"),
        pytest.param("https://ana:pw@example.com/hook", 422, "user name or password", id="creds"),
        pytest.param("https://example.com/" + "a" * 2100, 422, "over the limit", id="too-long"),
        pytest.param("not a url", 422, "spaces", id="garbage"),
    ],
)
async def test_bad_urls_are_refused_with_a_hint(api: Api, url: str, status: int, says: str) -> None:
    ana = api.user("Ana")
    refused = await register(api, ana, await api.group(ana), url)
    assert refused.status_code == status, refused.text
    assert says in refused.json()["message"]
    assert refused.json()["hint"]


async def test_the_same_url_twice_is_a_conflict(api: Api, receiver: Receiver) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    assert (await register(api, ana, group, receiver.url)).status_code == 201
    twice = await register(api, ana, group, receiver.url)
    assert twice.status_code == 409
    assert "already" in twice.json()["message"]


async def test_the_last_claim_sends_session_completed_signed_and_logged(
    api: Api, receiver: Receiver
) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group = await api.group(ana, ben)
    secret = (await register(api, ana, group, receiver.url)).json()["secret"]
    sid = (await api.session(ana, group))["id"]
    session_id = uuid.UUID(sid)
    async with api.runtime.database.session() as db:
        await SpeakerRepository(db).replace_for_session(
            session_id,
            [
                NewSpeaker("SPEAKER_00", 2, 10.0, {"lah": 2}),
                NewSpeaker("SPEAKER_01", 1, 5.0, {"walao": 1}),
            ],
        )
        await SessionRepository(db).transition(
            session_id,
            from_statuses=[SessionStatus.RECORDING],
            to_status=SessionStatus.READY_FOR_CLAIMING,
            duration_seconds=30.0,
        )
    speakers = (await api.client.get(f"/sessions/{sid}/speakers", headers=ana.headers)).json()
    first, second = (s["id"] for s in speakers["speakers"])
    for user, speaker in [(ana, first), (ben, second)]:
        claimed = await api.client.post(
            f"/sessions/{sid}/claim",
            json={"speaker_id": speaker, "claim_type": "self"},
            headers=user.headers,
        )
        assert claimed.status_code == 200, claimed.text

    await asyncio.wait_for(receiver.arrived.wait(), timeout=10)

    [call] = receiver.calls
    assert call.headers["x-lahstats-event"] == "session.completed"
    assert verify(secret, call.headers["x-lahstats-signature"], call.body)

    async def delivered() -> Any:
        log = await api.client.get(f"{hooks(group)}/deliveries", headers=ben.headers)
        entries = log.json()["deliveries"]
        return entries if entries and entries[0]["status"] == "delivered" else None

    [entry] = await eventually(delivered)
    assert entry["event"] == "session.completed"
    assert entry["session_id"] == sid
    assert entry["id"] == call.headers["x-lahstats-delivery"]
    assert (entry["attempts"], entry["last_status_code"], entry["last_error"]) == (1, 200, None)
    assert entry["delivered_at"] is not None
    assert entry["next_attempt_at"] is None
    assert set(entry) == {
        "id",
        "webhook_id",
        "event",
        "session_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "next_attempt_at",
    }


async def test_deliveries_are_listed_newest_first_a_page_at_a_time(
    api: Api, receiver: Receiver
) -> None:
    ana = api.user("Ana")
    group = await api.group(ana)
    assert (await register(api, ana, group, receiver.url)).status_code == 201
    sids = [(await api.session(ana, group))["id"] for _ in range(3)]
    for sid in sids:
        await move(api.runtime.database, uuid.UUID(sid), SessionStatus.FAILED, error_message="x")

    url = f"{hooks(group)}/deliveries"
    page = (await api.client.get(f"{url}?limit=2", headers=ana.headers)).json()
    rest = (await api.client.get(f"{url}?limit=2&offset=2", headers=ana.headers)).json()

    assert [d["session_id"] for d in page["deliveries"] + rest["deliveries"]] == sids[::-1]
    assert {d["event"] for d in page["deliveries"]} == {"session.failed"}
    assert (page["limit"], page["offset"], page["next_offset"]) == (2, 0, 2)
    assert rest["next_offset"] is None
    too_many = await api.client.get(f"{url}?limit=500", headers=ana.headers)
    assert too_many.status_code == 400
