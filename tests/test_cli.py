"""The command line: db upgrade, doctor on both setups, worker without Redis, and a real `serve`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lahstats.auth.tokens import create_token
from lahstats.cli import main
from lahstats.settings import Settings, get_settings
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, output = _run(["--help"], {})
    assert code == 0
    for command in ("serve", "worker", "db", "doctor"):
        assert command in output


def test_db_upgrade_then_doctor_passes_on_sqlite(tmp_path: Path) -> None:
    env = {"LAHSTATS_DATA_DIR": str(tmp_path / "var")}
    code, output = _run(["doctor", "--json"], env)
    findings = {f["check"]: f for f in json.loads(output.split("\n\n")[0])}
    assert code == 1
    assert findings["migrations"]["status"] == "FAIL"
    assert findings["migrations"]["fix"] == "lahstats db upgrade"

    code, output = _run(["db", "upgrade"], env)
    assert code == 0, output
    assert "upgraded to head" in output

    code, output = _run(["doctor"], env)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL", "FIX"]
    for check in (
        "database (sqlite)",
        "queue (in-process)",
        "storage (local)",
        "migrations",
        "ffmpeg",
        "model transcriber",
    ):
        assert any(line.startswith(check) and " ok " in line for line in lines), (check, output)


def test_doctor_fails_naming_redis_and_the_secret(tmp_path: Path, dead_redis_url: str) -> None:
    env = {
        "LAHSTATS_DATA_DIR": str(tmp_path / "var"),
        "LAHSTATS_REDIS_URL": dead_redis_url,
        "LAHSTATS_ENV": "production",
    }
    assert _run(["db", "upgrade"], env)[0] == 0
    code, output = _run(["doctor"], env)
    assert code == 1
    failing = [line.split()[0] for line in output.splitlines() if " FAIL " in line]
    assert failing == ["settings", "redis"]
    assert "check(s) failed" in output


def test_doctor_on_postgres_and_redis(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    env = {
        "LAHSTATS_DATA_DIR": str(tmp_path / "var"),
        "LAHSTATS_DATABASE_URL": postgres_url,
        "LAHSTATS_REDIS_URL": redis_url,
    }
    assert _run(["db", "upgrade"], env)[0] == 0
    code, output = _run(["doctor", "--json"], env)
    statuses = {f["check"]: f["status"] for f in json.loads(output)}
    assert code == 0, output
    assert (
        statuses["database (postgresql)"]
        == statuses["redis (arq)"]
        == statuses["migrations"]
        == "ok"
    )


def test_worker_without_redis_explains_itself() -> None:
    code, output = _run(["worker"], {})
    assert code != 0
    assert "LAHSTATS_REDIS_URL is not set" in output


def test_serve_in_a_fresh_directory_migrates_sqlite_and_answers_over_http(tmp_path: Path) -> None:
    """`lahstats serve` where nothing was set up: the embedded database is brought to head by
    serve itself, /health answers 200 and the first write works."""
    env = {**os.environ, "LAHSTATS_DATA_DIR": str(tmp_path / "var"), "LAHSTATS_LOG_JSON": "true"}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lahstats", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert response is not None, "server did not start"
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"
        assert response.json()["checks"]["migrations"]["ok"] is True
        token = create_token(Settings(data_dir=tmp_path / "var"), email="ana@example.com")
        group = httpx.post(
            f"http://127.0.0.1:{port}/groups",
            json={"name": "Kopi gang"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert group.status_code == 201, group.text
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too
    assert server.returncode in {0, -15}, output
    assert "Application shutdown complete." in output
    log_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in log_lines if line.get("event") == "request"]
    assert access
    assert access[0]["path"] == "/health"
    assert access[0]["request_id"]


def test_worker_runs_queued_jobs_from_redis(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    from arq.jobs import Job

    from lahstats.jobs.queue import ArqQueue

    async def enqueue() -> None:
        queue = ArqQueue(redis_url, queue_name=queue_name)
        assert await queue.enqueue("ping", job_id=f"{queue_name}:ping")
        await queue.close()

    async def result() -> dict[str, str]:
        queue = ArqQueue(redis_url, queue_name=queue_name)
        try:
            job = Job(f"{queue_name}:ping", queue.redis, _queue_name=queue_name)
            return await job.result(timeout=5)  # type: ignore[no-any-return]
        finally:
            await queue.redis.delete(f"arq:result:{queue_name}:ping")
            await queue.close()

    asyncio.run(enqueue())
    env = {
        "LAHSTATS_DATA_DIR": str(tmp_path / "var"),
        "LAHSTATS_REDIS_URL": redis_url,
        "LAHSTATS_QUEUE_NAME": queue_name,
    }
    code, output = _run(["worker", "--burst"], env)
    assert code == 0, output
    assert asyncio.run(result())["worker"].endswith(f":{os.getpid()}")
