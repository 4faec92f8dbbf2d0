"""The app factory: health of each part, the error shape, request ids, docs, the startup guard."""

from __future__ import annotations

import asyncio
import gc

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from lahstats import errors
from lahstats.api.app import create_app
from lahstats.api.errors import EXCEPTION_HANDLERS
from lahstats.auth.tokens import create_token
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings
from lahstats.storage.migrations import head_revision, upgrade
from tests.api.conftest import ClientFactory, serving
from tests.conftest import free_port


async def test_health_is_ok_in_the_embedded_mode(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings) as client:
        response = await client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert {name: part["backend"] for name, part in body["checks"].items()} == {
        "database": "sqlite",
        "migrations": "sqlite",
        "queue": "in-process",
        "storage": "local",
        "models": "configured",
    }
    models = body["checks"]["models"]
    assert models["device"] in {"cpu", "cuda"}
    assert models["roles"]["transcriber"]["backend"] == "whisper-base"
    assert models["roles"]["transcriber"]["loaded"] is False
    assert models["roles"]["diarizer"]["version"]


async def test_health_is_ok_on_postgres_and_redis(
    settings: Settings,
    postgres_url: str,
    redis_url: str,
    queue_name: str,
    client_for: ClientFactory,
) -> None:
    await asyncio.to_thread(upgrade, postgres_url)
    production_like = settings.model_copy(
        update={"database_url": postgres_url, "redis_url": redis_url, "queue_name": queue_name}
    )
    async with client_for(production_like) as client:
        response = await client.get("/health")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"]["backend"] == "postgresql"
    assert checks["redis"]["backend"] == "arq"


async def test_health_is_503_and_names_redis_when_redis_is_down(
    settings: Settings, dead_redis_url: str, client_for: ClientFactory
) -> None:
    async with client_for(settings.model_copy(update={"redis_url": dead_redis_url})) as client:
        health = await client.get("/health")
        docs = await client.get("/schema/openapi.json")  # the rest of the app still answers
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["redis"]
    assert "Redis" in body["checks"]["redis"]["detail"]
    assert body["checks"]["redis"]["fix"]
    assert docs.status_code == 200


async def test_health_is_503_and_down_when_the_database_is_unreachable(
    settings: Settings, client_for: ClientFactory
) -> None:
    dead = f"postgresql+asyncpg://root@127.0.0.1:{free_port()}/nothing"
    async with client_for(settings.model_copy(update={"database_url": dead})) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["failing"] == ["database"]


async def test_a_database_without_the_schema_is_named_by_health_and_never_unreachable(
    settings: Settings, empty_database_url: str
) -> None:
    # What a server started before `lahstats db upgrade` sees (serve migrates only the embedded
    # default itself): reachable, with no tables, then at an older revision.
    url = empty_database_url
    unmigrated = settings.model_copy(update={"database_url": url})
    headers = {"Authorization": f"Bearer {create_token(unmigrated, email='ana@example.com')}"}
    runtime = Runtime.build(unmigrated)
    async with serving(create_app(unmigrated, runtime=runtime)) as client:
        health = await client.get("/health")
        write = await client.post("/groups", json={"name": "Kopi gang"}, headers=headers)
        # Failed while making the caller's profile: the request's connection is back all the
        # same (the background sweeps may hold one a moment: a leaked one never comes back).
        pool = runtime.database.engine.pool
        for _ in range(100):
            if not pool.checkedout():  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        await asyncio.to_thread(upgrade, url, "0002")
        behind = (await client.get("/health")).json()["checks"]["migrations"]
        await asyncio.to_thread(upgrade, url)
        healthy = await client.get("/health")
        written = await client.post("/groups", json={"name": "Kopi gang"}, headers=headers)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "down"
    assert body["failing"] == ["migrations"]
    assert body["checks"]["database"]["ok"] is True
    head = head_revision()
    assert body["checks"]["migrations"]["detail"] == (
        f"database at revision none (no tables), the code needs {head}: run `lahstats db upgrade`"
    )
    assert body["checks"]["migrations"]["fix"] == "lahstats db upgrade"
    assert write.status_code == 503
    assert "has not been migrated" in write.json()["message"]
    assert "unreachable" not in write.json()["message"]
    assert "`lahstats db upgrade`" in write.json()["hint"]
    assert behind["detail"].startswith(f"database at revision 0002, the code needs {head}")
    # Migrated while running: no restart needed.
    assert healthy.status_code == 200, healthy.text
    assert written.status_code == 201, written.text


async def test_unknown_routes_get_the_error_shape_and_a_request_id(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings) as client:
        given = await client.get("/nowhere", headers={"X-Request-ID": "trace-123"})
        made = await client.get("/nowhere", headers={"X-Request-ID": "bad id with spaces"})
    assert given.status_code == 404
    assert given.headers["x-request-id"] == "trace-123"
    assert given.json() == {
        "status_code": 404,
        "error": "not_found",
        "message": "Not Found",
        "hint": "Check the URL; see /schema for the routes.",
        "request_id": "trace-123",
    }
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert made.json()["request_id"] == made.headers["x-request-id"]


async def test_openapi_docs_are_served(settings: Settings, client_for: ClientFactory) -> None:
    async with client_for(settings) as client:
        spec = (await client.get("/schema/openapi.json")).json()
        page = await client.get("/schema")
    assert spec["info"]["title"] == "LahStats API"
    assert "/health" in spec["paths"]
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NotFound("no such session"), 404, "not_found"),
        (errors.Conflict("chunk 3 already stored with other bytes"), 409, "conflict"),
        (errors.Unauthorized("token expired"), 401, "unauthorized"),
        (errors.Forbidden("only the starter may delete"), 403, "forbidden"),
        (errors.InvalidAudio("chunk 2: not audio"), 422, "invalid_audio"),
        (errors.UnsupportedMediaType("text/plain is not audio"), 415, "unsupported_media_type"),
        (errors.PayloadTooLarge("chunk is 40 MB"), 413, "payload_too_large"),
        (errors.RateLimited("slow down", retry_after=7), 429, "rate_limited"),
        (errors.Unavailable("Redis is down"), 503, "unavailable"),
        (errors.ModelUnavailable("whisper weights missing"), 500, "model_unavailable"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
async def test_domain_errors_map_to_one_status_and_body(
    error: errors.LahstatsError, status: int, code: str
) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    app = Litestar(
        route_handlers=[boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None
    )
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/boom")
    assert response.status_code == status
    body = response.json()
    assert body["message"] == error.message
    assert body["hint"] == error.hint
    assert body["error"] == code
    if isinstance(error, errors.RateLimited):
        assert response.headers["retry-after"] == "7"


async def test_unexpected_errors_hide_details() -> None:
    @get("/crash", sync_to_thread=False)
    def crash() -> None:
        raise RuntimeError("secret internals")

    app = Litestar(
        route_handlers=[crash], exception_handlers=EXCEPTION_HANDLERS, logging_config=None
    )
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/crash")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json()["error"] == "internal_error"


async def test_a_database_outage_is_logged_in_the_drivers_words_without_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    import structlog
    from sqlalchemy.exc import OperationalError
    from structlog.testing import capture_logs

    from lahstats.api import errors as api_errors

    # The app's structlog config caches a logger on first use; capture_logs() needs a fresh one.
    monkeypatch.setattr(api_errors, "log", structlog.get_logger(api_errors.__name__))

    @get("/write", sync_to_thread=False)
    def write() -> None:
        raise OperationalError(
            "INSERT INTO profiles (email) VALUES (?)",
            ("fay@example.com",),
            sqlite3.OperationalError("database is locked"),
        )

    app = Litestar(
        route_handlers=[write], exception_handlers=EXCEPTION_HANDLERS, logging_config=None
    )
    with capture_logs() as logs:
        async with AsyncTestClient(app=app) as client:
            response = await client.get("/write")
    assert response.status_code == 503
    assert "database is locked" not in response.text  # the caller is told it is unavailable
    [entry] = [e for e in logs if e["event"] == "request failed: database unreachable"]
    assert entry["detail"] == "database is locked"
    assert "fay@example.com" not in str(entry)
    assert "INSERT" not in str(entry)


@pytest.mark.parametrize(
    "secret", [None, "changethis", "short-secret"], ids=["missing", "default", "short"]
)
def test_production_refuses_to_start_with_a_weak_jwt_secret(secret: str | None) -> None:
    with pytest.raises(errors.ConfigurationError, match="JWT"):
        create_app(Settings(env="production", jwt_secret=secret))


def test_production_starts_with_a_real_secret() -> None:
    app = create_app(Settings(env="production", jwt_secret="x" * 48))
    assert isinstance(app, Litestar)


async def test_a_serving_app_starts_its_probe_pool_and_freezes_start_up_objects(
    settings: Settings,
) -> None:
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    runtime = Runtime.build(settings)
    frozen_before = gc.get_freeze_count()
    try:
        async with serving(create_app(settings, runtime=runtime, serving=True)) as client:
            assert (await client.get("/health")).status_code == 200
            assert runtime.prober._pool is not None  # started with the app, not by an upload
            assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()  # this test process builds many more apps


async def test_an_app_for_tests_leaves_both_alone(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    runtime = Runtime.build(settings)
    frozen_before = gc.get_freeze_count()
    async with serving(create_app(settings, runtime=runtime)) as client:
        assert (await client.get("/health")).status_code == 200
        assert runtime.prober._pool is None
        assert gc.get_freeze_count() == frozen_before
