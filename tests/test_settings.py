"""Settings: embedded defaults, the LAHSTATS_ environment and .env, and the production guard."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lahstats.errors import ConfigurationError
from lahstats.settings import Environment, Settings


def test_defaults_are_the_embedded_mode() -> None:
    settings = Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.resolved_database_url == "sqlite+aiosqlite:///var/lahstats.db"
    assert settings.resolved_storage_dir == Path("var/storage")
    assert settings.redis_url is None
    assert settings.storage_backend == "local"
    assert (settings.diarizer, settings.transcriber) == ("embedded", "whisper-base")
    assert settings.problems() == []


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LAHSTATS_REDIS_URL=redis://from-dotenv:6379\nLAHSTATS_PORT=9000\n"
    )
    monkeypatch.setenv("LAHSTATS_DATABASE_URL", "postgresql+asyncpg://u@db/lahstats")
    monkeypatch.setenv("LAHSTATS_PORT", "8123")  # the environment wins over .env
    settings = Settings()
    assert settings.redis_url == "redis://from-dotenv:6379"
    assert settings.port == 8123
    assert settings.database_backend == "postgresql"


def test_blank_redis_url_means_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAHSTATS_REDIS_URL", "  ")
    assert Settings().redis_url is None


def test_development_secret_is_made_once_privately(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = settings.jwt_signing_secret()
    assert len(first) >= 32
    assert settings.jwt_signing_secret() == first
    mode = (tmp_path / "var" / ".jwt-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_production_never_invents_a_secret() -> None:
    with pytest.raises(ConfigurationError, match="LAHSTATS_JWT_SECRET"):
        Settings(env="production").jwt_signing_secret()


def test_production_problems_name_the_secret_and_s3_bucket() -> None:
    problems = Settings(env="production", jwt_secret="secret", storage_backend="s3").problems()
    assert [("JWT" in p.message, "bucket" in p.message) for p in problems] == [
        (True, False),
        (False, True),
    ]
    assert all(p.hint for p in problems)


def test_secrets_do_not_show_in_repr() -> None:
    settings = Settings(jwt_secret="super-secret-value-that-is-long-enough-000")
    assert "super-secret" not in repr(settings)
    assert "super-secret" not in str(settings.model_dump())


def test_a_stale_limit_shorter_than_two_heartbeats_is_refused() -> None:
    settings = Settings(env="test", job_heartbeat_seconds=30, job_stale_seconds=45)
    with pytest.raises(ConfigurationError, match="twice"):
        settings.check_ready()
    Settings(env="test", job_heartbeat_seconds=10, job_stale_seconds=90).check_ready()
