"""The authentication middleware on a small app with the project's error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.openapi import OpenAPIConfig
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from lahstats.api.auth import auth_middleware
from lahstats.api.errors import EXCEPTION_HANDLERS
from lahstats.auth.tokens import Identity, TokenVerifier, create_token, user_id_for_email
from lahstats.settings import Settings

Client = AsyncTestClient[Litestar]


def _caller(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, Identity)
    return {
        "user_id": str(user.user_id),
        "email": user.email,
        "name": user.name,
        "token": request.auth,
    }


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _caller(request)


@get("/sessions/{session_id:str}/events")
async def events(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _caller(request)


@post("/sessions/{session_id:str}/events")
async def post_events(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _caller(request)


@get("/sessions/{session_id:str}/health")
async def session_health(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _caller(request)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/media/{key:path}")
async def media(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"key": request.path_params["key"]}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    app = Litestar(
        route_handlers=[me, events, post_events, session_health, health, media],
        middleware=[auth_middleware(TokenVerifier(settings))],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(title="test", version="0", path="/schema"),
    )
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
def token(settings: Settings) -> str:
    return create_token(settings, email="mei@example.com", name="Mei")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_good_token_puts_the_identity_on_the_request(client: Client, token: str) -> None:
    response = await client.get("/me", headers=_bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": str(user_id_for_email("mei@example.com")),
        "email": "mei@example.com",
        "name": "Mei",
        "token": token,
    }


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Token abc"}, "not `Bearer <token>`"),
        ({"Authorization": "Bearer not-a-jwt"}, "malformed token"),
    ],
    ids=["no-header", "wrong-scheme", "malformed"],
)
async def test_requests_without_a_good_token_get_401_with_the_reason(
    client: Client, headers: dict[str, str], reason: str
) -> None:
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "unauthorized"
    assert reason in body["message"]
    assert body["hint"]


async def test_a_tampered_token_gets_401(client: Client, token: str) -> None:
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    response = await client.get("/me", headers=_bearer(f"{header}.{payload}.{flipped}"))
    assert response.status_code == 401
    assert "tampered" in response.json()["message"]


async def test_a_token_from_another_secret_gets_401(client: Client, settings: Settings) -> None:
    other = settings.model_copy(update={"jwt_secret": SecretStr("s" * 48)})
    response = await client.get("/me", headers=_bearer(create_token(other, email="x@y.z")))
    assert response.status_code == 401
    assert "bad signature" in response.json()["message"]


@pytest.mark.parametrize(
    "path", ["/health", "/schema", "/schema/openapi.json", "/media/samples/abc.ogg?sig=x"]
)
async def test_public_paths_need_no_token(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200, response.text


async def test_public_prefixes_do_not_leak_into_other_paths(client: Client) -> None:
    response = await client.get("/sessions/s1/health")
    assert response.status_code == 401


async def test_the_event_stream_takes_the_token_from_the_query(client: Client, token: str) -> None:
    response = await client.get("/sessions/s1/events", params={"access_token": token})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "mei@example.com"


async def test_a_bad_query_token_on_the_event_stream_gets_401(client: Client) -> None:
    response = await client.get("/sessions/s1/events", params={"access_token": "nope"})
    assert response.status_code == 401
    assert "malformed token" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/me"), ("POST", "/sessions/s1/events"), ("GET", "/sessions/s1/health")],
    ids=["other-route", "post-to-events", "other-suffix"],
)
async def test_the_query_token_is_refused_everywhere_else(
    client: Client, token: str, method: str, path: str
) -> None:
    response = await client.request(method, path, params={"access_token": token})
    assert response.status_code == 401
    assert "missing bearer token" in response.json()["message"]


async def test_the_header_wins_over_the_query_token(client: Client, token: str) -> None:
    response = await client.get(
        "/sessions/s1/events", params={"access_token": token}, headers=_bearer("not-a-jwt")
    )
    assert response.status_code == 401


async def test_without_public_paths_every_path_needs_a_token(settings: Settings) -> None:
    app = Litestar(
        route_handlers=[health],
        middleware=[auth_middleware(TokenVerifier(settings), public_paths=())],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/health")
    assert response.status_code == 401
