"""`lahstats token create`: one token on stdout that the API's verifier accepts."""

from __future__ import annotations

import uuid
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner, Result

from lahstats.auth.tokens import Identity, TokenVerifier, user_id_for_email
from lahstats.cli import main
from lahstats.settings import Settings, get_settings

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()


def _create(args: list[str], env: dict[str, str]) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(main, ["token", "create", *args], env=env)


def _token(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


async def test_a_development_token_verifies_with_the_development_secret(tmp_path: Path) -> None:
    env = {"LAHSTATS_DATA_DIR": str(tmp_path / "var")}
    token = _token(_create(["--email", "mei@example.com", "--name", "Mei Ling"], env))
    settings = Settings(data_dir=tmp_path / "var")
    identity = await TokenVerifier(settings).verify(token)
    assert identity == Identity(
        user_id=user_id_for_email("mei@example.com"), email="mei@example.com", name="Mei Ling"
    )
    # The secret was made once and is reused: a second token is signed with the same one.
    again = _token(_create(["--email", "mei@example.com"], env))
    assert (await TokenVerifier(settings).verify(again)).user_id == identity.user_id


async def test_user_id_and_days_are_used(tmp_path: Path) -> None:
    user = uuid.uuid4()
    env = {"LAHSTATS_DATA_DIR": str(tmp_path / "var"), "LAHSTATS_JWT_SECRET": SECRET}
    token = _token(
        _create(["--email", "b@example.com", "--user-id", str(user), "--days", "2"], env)
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == str(user)
    assert claims["exp"] - claims["iat"] == 2 * 86400
    assert not (tmp_path / "var" / ".jwt-secret").exists()  # the configured secret was used


def test_production_without_a_secret_is_refused(tmp_path: Path) -> None:
    env = {"LAHSTATS_DATA_DIR": str(tmp_path / "var"), "LAHSTATS_ENV": "production"}
    result = _create(["--email", "mei@example.com"], env)
    assert result.exit_code == 1
    assert "LAHSTATS_JWT_SECRET is not set" in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["--email", "a@b.c", "--days", "0"], ["--email", "a@b.c", "--user-id", "42"], []],
    ids=["zero-days", "bad-user-id", "no-email"],
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = _create(args, {"LAHSTATS_DATA_DIR": str(tmp_path / "var")})
    assert result.exit_code == 2
    assert result.stdout == ""
