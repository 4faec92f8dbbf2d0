"""Hostile requests against the real app on PostgreSQL: each gets a clear 4xx in the one error
shape, whose message says what was wrong, and nothing is stored or changed that should not be.

What other files already prove is not repeated here: other groups' sessions, webhooks, words and
exports (test_sessions, webhooks/test_api, test_words, test_exports), chunks over the cap and bad
audio (test_chunks), each reason a token is refused by the verifier (auth/test_tokens) and the
middleware's rules on a small app (test_auth).

One app serves the whole module (starting one per test would cost most of the run); each test
makes users of its own, and compares the row count of every table and the stored files before and
after its hostile requests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, func, select

from lahstats.api.app import create_app
from lahstats.api.bodies import MAX_JSON_BODY_BYTES
from lahstats.runtime.resources import Runtime
from lahstats.sessions.uploads import MAX_CHUNK_NUMBER
from lahstats.settings import Settings
from lahstats.storage.models import metadata
from lahstats.storage.signing import media_path
from tests.api.audio import tone
from tests.api.conftest import Api, RecordingQueue, User, serving
from tests.api.full_session import FullSession, full_session
from tests.auth.conftest import JwksServer, jwks_server, rsa_key  # noqa: F401 - fixtures

pytestmark = pytest.mark.postgres

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
async def api(
    migrated_postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path_factory.mktemp("hostile") / "var",
        database_url=migrated_postgres_url,
        log_json=True,
    )
    runtime = replace(Runtime.build(settings), queue=RecordingQueue())
    async with serving(create_app(settings, runtime=runtime)) as client:
        yield Api(client, settings, runtime)
        async with runtime.database.session() as db:  # the database is shared by the test run
            for table in reversed(metadata.sorted_tables):
                await db.execute(delete(table))


def someone(api: Api, name: str) -> User:
    """A user of this test alone (the module's tests share one app and database)."""
    return api.user(f"{name}-{uuid.uuid4().hex[:8]}")


@dataclass(frozen=True)
class Stored:
    rows: dict[str, int]
    files: list[str]


async def stored(api: Api) -> Stored:
    async with api.runtime.database.session() as db:
        rows = {
            table.name: int(await db.scalar(select(func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
        }
    return Stored(rows, stored_files(Path(api.settings.resolved_storage_dir)))


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def refused(response: httpx.Response, status: int, *says: str) -> dict[str, Any]:
    """Asserts the status and the error shape; ``says``: what the message must name."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) - {"details"} == {"status_code", "error", "message", "hint", "request_id"}
    assert body["status_code"] == status
    assert body["hint"]
    assert body["request_id"] == response.headers["x-request-id"]
    for said in says:
        assert said.lower() in body["message"].lower(), body["message"]
    return body


@dataclass(frozen=True)
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.body)
        return answer


async def raw_get(api: Api, target: str, headers: dict[str, str]) -> Raw:
    """A GET with the request target sent exactly as given (httpx resolves `..` first)."""
    url = api.client.base_url
    assert url.host
    reader, writer = await asyncio.open_connection(url.host, url.port)
    lines = [f"GET {target} HTTP/1.1", f"Host: {url.host}:{url.port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return Raw(int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body)


# ---- oversized bodies -------------------------------------------------------------------------


def _json_routes(group_id: str, session_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/groups"),
        ("POST", "/groups/join"),
        ("PATCH", f"/groups/{group_id}"),
        ("POST", "/sessions/start"),
        ("POST", f"/sessions/{session_id}/claim"),
        ("POST", f"/groups/{group_id}/webhooks"),
        ("POST", f"/groups/{group_id}/words"),
    ]


async def test_every_json_route_refuses_a_body_over_64_kib(api: Api) -> None:
    ana = someone(api, "Ana")
    group = await api.group(ana)
    session = await api.session(ana, group)
    before = await stored(api)
    five_mb = json.dumps({"name": "x" * (5 * 1024 * 1024)}).encode()
    for method, path in _json_routes(group["id"], session["id"]):
        response = await api.client.request(
            method, path, content=five_mb, headers={**ana.headers, **JSON}
        )
        body = refused(response, 413, f"limit of {MAX_JSON_BODY_BYTES} bytes")
        assert body["error"] == "request_entity_too_large"
        assert "JSON" in body["hint"]  # not the chunk routes' "split the recording"
    assert await stored(api) == before


async def test_a_streamed_json_body_without_a_length_is_cut_off_at_the_cap(api: Api) -> None:
    ana = someone(api, "Ana")
    await api.group(ana)  # her profile exists, so any new row below would be the refused group
    before = await stored(api)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(200):  # 200 x 1 KiB: three times the cap, with no Content-Length
            yield b"x" * 1024
        yield b'"}'

    response = await api.client.post("/groups", content=chunks(), headers={**ana.headers, **JSON})
    assert "content-length" not in response.request.headers
    refused(response, 413, f"limit of {MAX_JSON_BODY_BYTES} bytes")
    assert await stored(api) == before


async def test_a_body_just_under_the_cap_reaches_the_handler(api: Api) -> None:
    ana = someone(api, "Ana")
    body = json.dumps({"name": "x" * (MAX_JSON_BODY_BYTES - 100)}).encode()
    assert len(body) < MAX_JSON_BODY_BYTES
    response = await api.client.post("/groups", content=body, headers={**ana.headers, **JSON})
    refused(response, 400, "name (body)", "length <= 200")  # the schema's limit, not the cap's


async def test_chunks_keep_their_own_cap_above_the_json_one(api: Api) -> None:
    ana = someone(api, "Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    audio = tone(3.0)  # 96 KB of WAV: over the JSON routes' cap
    assert len(audio) > MAX_JSON_BODY_BYTES
    put = await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=audio,
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert put.status_code == 201, put.text
    posted = await api.client.post(
        f"/sessions/{sid}/upload",
        files={"file": ("c.wav", tone(2.5), "audio/wav")},
        data={"chunk_number": "1"},
        headers=ana.headers,
    )
    assert posted.status_code == 201, posted.text


# ---- content types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b'{"name": "Kopi"}', "text/plain", "not text/plain"),
        (
            b"name=Kopi",
            "application/x-www-form-urlencoded",
            "not application/x-www-form-urlencoded",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nKopi\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "not multipart/form-data",
        ),
        (b'<p>{"name": "Kopi"}</p>', "text/html; charset=utf-8", "not text/html"),
    ],
    ids=["text-plain", "form", "multipart", "html"],
)
async def test_a_json_route_refuses_other_content_types(
    api: Api, content: bytes, content_type: str, says: str
) -> None:
    ana = someone(api, "Ana")
    await api.group(ana)
    before = await stored(api)
    response = await api.client.post(
        "/groups", content=content, headers={**ana.headers, "Content-Type": content_type}
    )
    body = refused(response, 415, "takes a JSON body", says)
    assert "application/json" in body["hint"]
    assert await stored(api) == before


async def test_a_json_route_takes_a_body_without_a_content_type(api: Api) -> None:
    ana = someone(api, "Ana")
    response = await api.client.post("/groups", content=b'{"name": "Kopi"}', headers=ana.headers)
    assert "content-type" not in response.request.headers
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("request_kwargs", "status", "says"),
    [
        (
            {"content": b"<html>chunk</html>", "headers": {"Content-Type": "text/html"}},
            415,
            ["takes multipart/form-data", "not text/html"],
        ),
        ({"json": {"chunk_number": 0}}, 415, ["not application/json"]),
        ({"content": tone()}, 415, ["without a type"]),
        (
            {"data": {"chunk_number": "0"}, "files": {"other": ("c.wav", tone(), "audio/wav")}},
            400,
            ["data (body)", "missing required field `file`"],
        ),
        (
            {"files": {"file": ("c.wav", tone(), "audio/wav")}, "data": {"chunk_number": "zero"}},
            400,
            ["chunk_number (body)"],
        ),
        (
            {
                "files": {"file": ("c.wav", tone(), "audio/wav")},
                "data": {"chunk_number": "99999999999999999999999"},
            },
            400,
            ["chunk_number (body)", f"<= {MAX_CHUNK_NUMBER}"],
        ),
        (
            {"files": {"file": ("c.wav", tone(), "audio/wav")}, "data": {"chunk_number": "-1"}},
            400,
            ["chunk_number (body)", ">= 0"],
        ),
    ],
    ids=["html", "json", "no-type", "no-file-part", "number-not-int", "number-huge", "negative"],
)
async def test_an_upload_that_is_not_a_proper_form_stores_nothing(
    api: Api, request_kwargs: dict[str, Any], status: int, says: list[str]
) -> None:
    ana = someone(api, "Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    before = await stored(api)
    headers = {**ana.headers, **request_kwargs.pop("headers", {})}
    response = await api.client.post(f"/sessions/{sid}/upload", headers=headers, **request_kwargs)
    refused(response, status, *says)
    assert await stored(api) == before


async def test_a_raw_chunk_sent_as_html_is_refused(api: Api) -> None:
    ana = someone(api, "Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    before = await stored(api)
    response = await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=b"<html><body>lah</body></html>",
        headers={**ana.headers, "Content-Type": "text/html"},
    )
    refused(response, 415, "not audio")
    assert await stored(api) == before


# ---- malformed JSON ---------------------------------------------------------------------------

CLAIM = "/sessions/{session}/claim"
MALFORMED: dict[str, tuple[str, bytes, int, list[str]]] = {
    "truncated": ("/groups", b'{"name": "Kopi', 400, ["truncated"]),
    "not-an-object": ("/groups", b'["Kopi"]', 400, ["expected `object`, got `array`"]),
    "null": ("/groups", b"null", 400, ["got `null`"]),
    "empty": ("/groups", b"", 400, ["has none"]),
    "whitespace": ("/groups", b"  \n ", 400, ["has none"]),
    "wrong-type": ("/groups", b'{"name": 5}', 400, ["name (body)", "expected `str`, got `int`"]),
    "missing-field": ("/groups", b'{"title": "Kopi"}', 400, ["missing required field `name`"]),
    "unknown-enum": (
        CLAIM,
        b'{"speaker_id": "6f1f6c1e-0d0b-4f2a-9a57-1d2f3c4b5a69", "claim_type": "boss"}',
        400,
        ["claim_type (body)", "invalid enum value 'boss'"],
    ),
    "not-a-uuid": ("/sessions/start", b'{"group_id": "../../etc"}', 400, ["group_id", "uuid"]),
    "huge-number": ("/groups/join", b'{"invite_code": 1e999}', 400, ["number out of range"]),
    "huge-integer": ("/groups", b'{"name": ' + b"9" * 5000 + b"}", 400, ["out of range"]),
    "nul-in-string": ("/groups", b'{"name": "Kopi\\u0000gang"}', 400, ["$.name", "NUL"]),
    "nul-in-a-key": ("/groups", b'{"name": "Kopi", "a\\u0000": 1}', 400, ["a key", "NUL"]),
    "invalid-utf8": ("/groups", b'{"name": "Kopi \xff\xfe gang"}', 400, ["not UTF-8"]),
    "lone-surrogate": ("/groups", b'{"name": "\\ud800"}', 400, []),
    "nested-deep": ("/groups", b"[" * 5000 + b"]" * 5000, 400, ["nested too deeply"]),
}


@pytest.mark.parametrize(
    ("path", "content", "status", "says"), MALFORMED.values(), ids=MALFORMED.keys()
)
async def test_malformed_json_is_a_400_saying_what_is_wrong(
    api: Api, path: str, content: bytes, status: int, says: list[str]
) -> None:
    ana = someone(api, "Ana")
    session = await api.session(ana, await api.group(ana))
    before = await stored(api)
    response = await api.client.post(
        path.format(session=session["id"]), content=content, headers={**ana.headers, **JSON}
    )
    refused(response, status, *says)
    assert await stored(api) == before


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=99999999999999999999999999", "limit (query)"),
        ("limit=-1", "limit (query)"),
        ("offset=abc", "offset (query)"),
        ("offset=12515993307600961536", "offset (query)"),  # past PostgreSQL's bigint: was a 500
        ("limit=%00", "NUL"),
    ],
)
async def test_bad_query_parameters_are_a_400_naming_them(api: Api, query: str, says: str) -> None:
    ana = someone(api, "Ana")
    refused(await api.client.get(f"/sessions?{query}", headers=ana.headers), 400, says)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/groups", "GET, POST"),
        ("DELETE", "/sessions/start", "POST"),
        ("POST", "/users/me/wrapped", "GET"),
        ("PATCH", "/sessions/{session}", "DELETE, GET"),
    ],
)
async def test_a_method_a_path_does_not_take_is_a_405_naming_the_ones_it_does(
    api: Api, method: str, path: str, allowed: str
) -> None:
    ana = someone(api, "Ana")
    session = await api.session(ana, await api.group(ana))
    before = await stored(api)
    response = await api.client.request(
        method, path.format(session=session["id"]), json={"name": "x"}, headers=ana.headers
    )
    refused(response, 405, f"{method} is not allowed")
    offered = {m.strip() for m in response.headers["allow"].split(",")} - {"OPTIONS", "HEAD"}
    assert offered == set(allowed.split(", "))
    assert await stored(api) == before


async def test_huge_offsets_and_event_ids_are_a_400_not_a_database_error(api: Api) -> None:
    ana = someone(api, "Ana")
    group = await api.group(ana)
    session = await api.session(ana, group)
    huge = "12515993307600961536"
    for path, says in [
        (f"/groups/{group['id']}/webhooks/deliveries?offset={huge}", "offset (query)"),
        (f"/sessions/{session['id']}/events?after={huge}", "after (query)"),
    ]:
        refused(await api.client.get(path, headers=ana.headers), 400, says, "<=")


@pytest.mark.parametrize(
    "last_event_id", ["\u00b2", "99999999999999999999999", "-1", "1e3", "0x7", ""]
)
async def test_an_odd_last_event_id_resumes_from_the_start_instead_of_failing(
    api: Api, last_event_id: str
) -> None:
    ben = someone(api, "Ben")
    session = await full_session(api, ben, await api.group(ben))  # processed: the stream ends
    # Latin-1 on the wire, as servers read header bytes: "²" arrives as "²", which isdigit().
    headers = {**ben.headers, "Last-Event-ID": last_event_id.encode("latin-1")}
    async with api.client.stream("GET", f"/sessions/{session.id}/events", headers=headers) as got:
        assert got.status_code == 200
        text = (await got.aread()).decode()
    assert "event: progress" in text  # from the first event on: the header was ignored
    assert "event: status" in text


# ---- other groups' objects --------------------------------------------------------------------


@dataclass(frozen=True)
class Victim:
    ben: User
    session: FullSession
    word: str


async def victim(api: Api) -> Victim:
    ben = someone(api, "Ben")
    group = await api.group(ben, name="Ben's")
    added = await api.client.post(
        f"/groups/{group['id']}/words", json={"word": "makan"}, headers=ben.headers
    )
    assert added.status_code == 201, added.text
    return Victim(ben, await full_session(api, ben, group), "makan")


async def test_other_groups_objects_are_404_like_missing_ones_and_stay_unchanged(
    api: Api,
) -> None:
    target = await victim(api)
    eve = someone(api, "Eve")
    mine = await full_session(api, eve, await api.group(eve, name="Eve's"))
    theirs = target.session
    speaker = next(iter(theirs.speakers.values()))
    before = await stored(api)

    async def bens_view() -> list[Any]:
        """What the owner sees of the group, its session's speakers and its words."""
        return [
            (await api.client.get(path, headers=target.ben.headers)).json()
            for path in (
                f"/groups/{theirs.group['id']}",
                f"/sessions/{theirs.id}/speakers",
                f"/groups/{theirs.group['id']}/words",
            )
        ]

    seen_before = await bens_view()

    group, session, word = theirs.group["id"], theirs.id, target.word
    crossings: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"/groups/{group}", {"json": {"auto_claim_voices": True}}),
        ("GET", f"/groups/{group}/leaderboard", {}),
        (
            "POST",
            f"/sessions/{session}/upload",
            {"files": {"file": ("c.wav", tone(), "audio/wav")}, "data": {"chunk_number": "9"}},
        ),
        (
            "POST",
            f"/sessions/{session}/claim",
            {"json": {"speaker_id": speaker, "claim_type": "self"}},
        ),
        # Another session's speaker, through a session of one's own.
        (
            "POST",
            f"/sessions/{mine.id}/claim",
            {"json": {"speaker_id": speaker, "claim_type": "self"}},
        ),
        ("DELETE", f"/sessions/{mine.id}/claim/{speaker}", {}),
        # Another group's word, through a group of one's own.
        ("DELETE", f"/groups/{mine.group['id']}/words/{word}", {}),
    ]
    missing = str(uuid.uuid4())
    to_missing = {group: missing, session: missing, speaker: missing, word: "durian"}
    for method, path, kwargs in crossings:
        answer = await api.client.request(method, path, headers=eve.headers, **kwargs)
        # The same request naming an object that does not exist.
        control = await api.client.request(
            method, _swap(path, to_missing), headers=eve.headers, **_swap_kwargs(kwargs, to_missing)
        )
        body = refused(answer, 404)
        assert control.status_code == 404, (method, path, control.text)
        # Nothing tells an object of another group from one that does not exist.
        assert body["error"] == control.json()["error"]
        assert _swap(body["message"], to_missing) == control.json()["message"], (method, path)
    assert await stored(api) == before
    for then, now in zip(seen_before, await bens_view(), strict=True):
        assert _without_urls(then) == _without_urls(now)


def _swap(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


def _swap_kwargs(kwargs: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    if "json" not in kwargs:
        return kwargs
    return {**kwargs, "json": json.loads(_swap(json.dumps(kwargs["json"]), mapping))}


def _without_urls(value: Any) -> Any:
    """A response without its signed sample URLs (fresh signatures each time)."""
    if isinstance(value, dict):
        return {k: _without_urls(v) for k, v in value.items() if k != "sample_audio_url"}
    if isinstance(value, list):
        return [_without_urls(v) for v in value]
    return value


# ---- path tricks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/sessions/../groups",
        "/sessions/%2e%2e/groups",
        "/sessions/%2e%2e%2fgroups",
        "/sessions/..%2f..%2fhealth",
        "/sessions/not-a-uuid",
        "/sessions/" + "a" * 8000,
        "/sessions/%E2%80%AE%F0%9F%98%80",
        "/sessions/%00",
        "/groups/00000000-0000-0000-0000-000000000000%2f..%2f..",
    ],
    ids=[
        "dotdot",
        "encoded-dots",
        "encoded-slash",
        "to-health",
        "not-uuid",
        "overlong",
        "unicode",
        "nul",
        "zero-uuid-and-dots",
    ],
)
async def test_path_tricks_in_ids_reach_nothing(api: Api, target: str) -> None:
    ana = someone(api, "Ana")
    await api.session(ana, await api.group(ana))  # something of hers a trick could reach
    before = await stored(api)
    answer = await raw_get(api, target, ana.headers)
    assert answer.status in (400, 404), (target, answer.status, answer.body[:300])
    body = answer.json()
    assert body["status_code"] == answer.status
    assert body["message"]
    assert body["hint"]
    assert "sessions" not in body  # no listing leaked through
    assert "groups" not in body
    assert await stored(api) == before


async def test_an_encoded_slash_is_a_slash_and_still_checked(api: Api) -> None:
    target = await victim(api)
    eve = someone(api, "Eve")
    group = target.session.group["id"]
    answer = await raw_get(api, f"/groups/{group}%2Fwords", eve.headers)
    assert answer.status == 404
    assert answer.json()["message"].startswith("no group")
    own = await raw_get(api, f"/groups/{group}%2Fwords", target.ben.headers)
    assert own.status == 200  # the same route: only who asks differs


@pytest.mark.parametrize(
    ("number", "status", "says"),
    [
        ("-1", 400, "chunk_number (path)"),
        (str(MAX_CHUNK_NUMBER + 1), 400, "chunk_number (path)"),
        ("99999999999999999999999999", 400, "chunk_number (path)"),
        ("1e3", 404, "not found"),
        ("0x10", 404, "not found"),
        ("%30", 201, ""),  # "0", percent-encoded: the same chunk number
    ],
    ids=["negative", "over-max", "huge", "float", "hex", "encoded-digit"],
)
async def test_odd_chunk_numbers(api: Api, number: str, status: int, says: str) -> None:
    ana = someone(api, "Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    before = await stored(api)
    url = api.client.base_url.copy_with(raw_path=f"/sessions/{sid}/chunks/{number}".encode())
    response = await api.client.put(
        url, content=tone(), headers={**ana.headers, "Content-Type": "audio/wav"}
    )
    if status == 201:
        assert response.status_code == 201, response.text
        assert response.json()["chunk_number"] == 0
        return
    refused(response, status, says)
    assert await stored(api) == before


# ---- signed media URLs ------------------------------------------------------------------------


async def _sample_url(api: Api) -> tuple[str, str, str]:
    """(key, expires, signature) of a real sample URL handed out by GET .../speakers."""
    ben = someone(api, "Ben")
    session = await full_session(api, ben, await api.group(ben))
    speakers = (
        await api.client.get(f"/sessions/{session.id}/speakers", headers=ben.headers)
    ).json()
    url = urlsplit(speakers["speakers"][0]["sample_audio_url"])
    query = parse_qs(url.query)
    return url.path.removeprefix("/media/"), query["expires"][0], query["signature"][0]


async def test_a_signed_sample_url_plays_without_a_token(api: Api) -> None:
    key, expires, signature = await _sample_url(api)
    played = await api.client.get(
        f"/media/{key}", params={"expires": expires, "signature": signature}
    )
    assert played.status_code == 200
    assert played.content[:4] == b"fLaC"
    assert played.headers["cache-control"] == "private, max-age=3600"


async def test_tampered_media_urls_are_refused(api: Api) -> None:
    key, expires, signature = await _sample_url(api)
    session_dir = key.rsplit("/", 2)[0]
    other_sample = key.replace("speaker_00", "speaker_01")
    assert other_sample != key
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    cases: list[tuple[str, int, str]] = [
        (f"/media/{other_sample}?expires={expires}&signature={signature}", 401, "signature"),
        (f"/media/{key}?expires={int(expires) + 1}&signature={signature}", 401, "signature"),
        (f"/media/{key}?expires={expires}&signature={flipped}", 401, "signature"),
        (f"/media/{key}?expires={expires}&signature=", 401, "signature"),
        (f"/media/{key}?expires={expires}&signature={'A' * 200}", 400, "signature"),
        (f"/media/{key}?expires={expires}", 400, "signature"),
        (f"/media/{key}?expires=soon&signature={signature}", 400, "expires"),
        (f"/media/{key}?expires=1e99&signature={signature}", 400, "expires"),
        (
            f"/media/{session_dir}/../{key}?expires={expires}&signature={signature}",
            401,
            "signature",
        ),
        (
            f"/media/{session_dir}/%2e%2e/{key}?expires={expires}&signature={signature}",
            401,
            "signature",
        ),
        (f"/media/../../etc/passwd?expires={expires}&signature={signature}", 401, "signature"),
        (
            f"/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd?expires={expires}&signature={signature}",
            401,
            "signature",
        ),
        (f"/media/{key}%00.mp3?expires={expires}&signature={signature}", 400, "NUL"),
    ]
    for target, status, says in cases:
        answer = await raw_get(api, target, {})
        assert answer.status == status, (target, answer.status, answer.body[:300])
        body = answer.json()
        assert says.lower() in body["message"].lower(), (target, body)
        assert body["hint"]


async def test_an_expired_media_url_says_so_and_an_unknown_blob_is_404(api: Api) -> None:
    key, _, _ = await _sample_url(api)
    secret = api.settings.jwt_signing_secret()
    expired = media_path(key, secret=secret, ttl_seconds=60, now=int(time.time()) - 3600)
    answer = await api.client.get(expired)
    refused(answer, 401, "expired")
    gone = media_path(key.replace("speaker_00", "speaker_09"), secret=secret)
    refused(await api.client.get(gone), 404, "no stored blob")


# ---- tokens -----------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(settings: Settings, sub: uuid.UUID, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(sub),
        "email": f"{sub.hex[:8]}@example.com",
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(changes)
    return claims


def _bad_tokens(settings: Settings, sub: uuid.UUID) -> dict[str, tuple[dict[str, str], str]]:
    """name -> (headers, what the 401's message says)."""
    secret = settings.jwt_signing_secret()
    good = jwt.encode(_claims(settings, sub), secret, "HS256")
    header, payload, signature = good.split(".")
    forged = _b64(_claims(settings, sub, exp=int(time.time()) + 10 * 365 * 86400))
    return {
        "tampered-payload": (
            {"Authorization": f"Bearer {header}.{forged}.{signature}"},
            "tampered",
        ),
        "expired": (
            {
                "Authorization": "Bearer "
                + jwt.encode(_claims(settings, sub, exp=int(time.time()) - 600), secret, "HS256")
            },
            "token expired",
        ),
        "alg-none": (
            {"Authorization": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."},
            "alg: none",
        ),
        "wrong-audience": (
            {
                "Authorization": "Bearer "
                + jwt.encode(_claims(settings, sub, aud="anon"), secret, "HS256")
            },
            "wrong audience",
        ),
        "other-secret": (
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    _claims(settings, sub), "another-secret-of-32-characters-or-more", "HS256"
                )
            },
            "bad signature",
        ),
        "bad-base64": ({"Authorization": f"Bearer {header}.@@@!!!.{signature}"}, "malformed token"),
        "three-dots": ({"Authorization": "Bearer ..."}, "malformed token"),
        "no-scheme": ({"Authorization": good}, "not `Bearer <token>`"),
        "basic-scheme": ({"Authorization": f"Basic {good}"}, "not `Bearer <token>`"),
        "other-header": ({"X-Access-Token": good}, "missing bearer token"),
        "as-a-cookie": ({"Cookie": f"access_token={good}"}, "missing bearer token"),
        "bearer-twice": ({"Authorization": f"Bearer {good} Bearer {good}"}, "not `Bearer <token>`"),
    }


BAD_TOKEN_NAMES = [
    "tampered-payload",
    "expired",
    "alg-none",
    "wrong-audience",
    "other-secret",
    "bad-base64",
    "three-dots",
    "no-scheme",
    "basic-scheme",
    "other-header",
    "as-a-cookie",
    "bearer-twice",
]


@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
async def test_bad_tokens_get_401_with_the_reason_and_write_nothing(api: Api, name: str) -> None:
    sub = uuid.uuid4()
    headers, reason = _bad_tokens(api.settings, sub)[name]
    assert set(_bad_tokens(api.settings, sub)) == set(BAD_TOKEN_NAMES)
    before = await stored(api)
    for method, path, kwargs in [
        ("GET", "/users/me", {}),
        ("POST", "/groups", {"json": {"name": "Intruders"}}),
        ("DELETE", "/users/me", {}),
    ]:
        response = await api.client.request(method, path, headers=headers, **kwargs)
        body = refused(response, 401, reason)
        assert body["error"] == "unauthorized"
        assert api.settings.jwt_signing_secret() not in response.text
    assert await stored(api) == before  # not even a profile for the token's subject


async def test_hs256_signed_with_the_jwks_public_key_is_refused(
    tmp_path: Path,
    jwks_server: JwksServer,  # noqa: F811 - the fixture imported above
    rsa_key: rsa.RSAPrivateKey,  # noqa: F811
) -> None:
    # The classic confusion: the identity provider's public key, used as an HMAC secret.
    jwks_server.publish("rsa-1", rsa_key, alg="RS256")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path / "var",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        jwt_jwks_url=jwks_server.url,
    )
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sub = uuid.uuid4()
    forged = _hs_with_key(_claims(settings, sub), public_pem, kid="rsa-1")
    real = jwt.encode(_claims(settings, sub), rsa_key, "RS256", headers={"kid": "rsa-1"})
    await asyncio.to_thread(_upgrade, settings)
    async with serving(create_app(settings)) as client:
        refused_answer = await client.get(
            "/users/me", headers={"Authorization": f"Bearer {forged}"}
        )
        accepted = await client.get("/users/me", headers={"Authorization": f"Bearer {real}"})
    refused(refused_answer, 401, "bad signature")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["id"] == str(sub)


def _hs_with_key(claims: dict[str, Any], key: bytes, *, kid: str) -> str:
    """HS256 over ``claims`` with ``key`` as the secret (PyJWT refuses PEM keys for HMAC)."""
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _upgrade(settings: Settings) -> None:
    from lahstats.storage.migrations import upgrade

    upgrade(settings.resolved_database_url)


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Ah Beng\x00", "beng@example.com"),
        ("x" * 500, "beng@example.com"),
        ("Ah Beng", "beng\x00@example.com"),
        ("Ah Beng", "b" * 400 + "@example.com"),
    ],
    ids=["nul-in-name", "overlong-name", "nul-in-email", "overlong-email"],
)
async def test_odd_names_and_emails_in_a_valid_token_do_not_break_the_profile(
    api: Api, name: str, email: str
) -> None:
    # The token is genuine (a user can set their own name at the identity provider).
    sub = uuid.uuid4()
    token = jwt.encode(
        _claims(api.settings, sub, email=email, user_metadata={"name": name}),
        api.settings.jwt_signing_secret(),
        "HS256",
    )
    me = await api.client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    profile = me.json()
    assert profile["id"] == str(sub)
    assert "\x00" not in json.dumps(profile)
    assert len(profile["display_name"] or "") <= 100
    assert len(profile["email"] or "") <= 320
