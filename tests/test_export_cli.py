"""``lahstats export``: a session of a SQLite database, written through the repositories, to
stdout or a file; clear errors for a missing, an unprocessed session and an unknown format."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lahstats.cli import main
from lahstats.settings import get_settings
from lahstats.storage.database import Database
from lahstats.storage.migrations import upgrade
from lahstats.storage.models import ClaimType, SessionStatus
from lahstats.storage.repositories import (
    GroupRepository,
    NewSegment,
    NewSpeaker,
    ProfileRepository,
    SessionRepository,
    SpeakerRepository,
    TranscriptRepository,
)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LAHSTATS_DATA_DIR": str(tmp_path / "var")}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'lahstats.db'}"
    upgrade(url)
    return url


async def _session(url: str, *, processed: bool) -> uuid.UUID:
    database = Database(url)
    try:
        async with database.session() as db:
            ana = await ProfileRepository(db).ensure(
                uuid.uuid4(), email="ana@example.com", display_name="Ana"
            )
            group = await GroupRepository(db).create(
                name="Kopi", invite_code=uuid.uuid4().hex[:8], owner_id=ana.id
            )
            recording = await SessionRepository(db).create(group_id=group.id, started_by=ana.id)
            if not processed:
                return recording.id
            speakers = SpeakerRepository(db)
            ids = await speakers.replace_for_session(
                recording.id,
                [
                    NewSpeaker("SPEAKER_00", 1, 2.0, {"lah": 2}),
                    NewSpeaker("SPEAKER_01", 1, 1.0, {"walao": 1}),
                ],
            )
            await TranscriptRepository(db).replace_for_session(
                recording.id,
                [
                    NewSegment(
                        speaker_label="SPEAKER_00",
                        start_seconds=1.25,
                        end_seconds=2.5,
                        raw_text="ok la",
                        corrected_text="ok lah, lah",
                    ),
                    NewSegment(
                        speaker_label="SPEAKER_01",
                        start_seconds=3.0,
                        end_seconds=4.0,
                        raw_text="wa lao",
                        corrected_text="walao",
                    ),
                ],
                ids,
            )
            await speakers.claim(
                ids["SPEAKER_00"],
                claimed_by=ana.id,
                claim_type=ClaimType.SELF,
                attributed_to_user_id=ana.id,
            )
            await SessionRepository(db).transition(
                recording.id,
                from_statuses=[SessionStatus.RECORDING],
                to_status=SessionStatus.READY_FOR_CLAIMING,
                duration_seconds=4.0,
            )
            return recording.id
    finally:
        await database.dispose()


def processed_session(url: str) -> uuid.UUID:
    return asyncio.run(_session(url, processed=True))


def run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, args, env=env)


def test_txt_export_to_stdout_names_the_claimed_speaker(
    env: dict[str, str], database_url: str
) -> None:
    session_id = processed_session(database_url)
    result = run(["export", str(session_id), "--format", "txt"], env)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "[00:00:01.2] Ana: ok lah, lah\n"
        "[00:00:03.0] SPEAKER_01: walao\n"
        "\n"
        "Word counts\n"
        "Ana: 2 (lah 2)\n"
        "SPEAKER_01: 1 (walao 1)\n"
    )


def test_json_is_the_default_format(env: dict[str, str], database_url: str) -> None:
    session_id = processed_session(database_url)
    result = run(["export", str(session_id)], env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["session"]["id"] == str(session_id)
    assert [s["name"] for s in data["speakers"]] == ["Ana", "SPEAKER_01"]


def test_csv_export_to_a_file(env: dict[str, str], database_url: str, tmp_path: Path) -> None:
    session_id = processed_session(database_url)
    target = tmp_path / "out.csv"
    result = run(["export", str(session_id), "--format", "CSV", "--output", str(target)], env)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert str(target) in result.stderr
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["start", "end", "speaker", "text", "heard"],
        ["1.250", "2.500", "Ana", "ok lah, lah", "ok la"],
        ["3.000", "4.000", "SPEAKER_01", "walao", "wa lao"],
    ]
    assert target.read_bytes().count(b"\r\n") == 3  # the RFC 4180 line ends, unchanged


def test_a_missing_or_unprocessed_session_fails_saying_why(
    env: dict[str, str], database_url: str
) -> None:
    missing = run(["export", str(uuid.uuid4())], env)
    assert missing.exit_code == 1
    assert "no session" in missing.stderr

    recording = asyncio.run(_session(database_url, processed=False))
    early = run(["export", str(recording), "--format", "srt"], env)
    assert early.exit_code == 1
    assert "cannot be exported yet: the session is still recording" in early.stderr


def test_an_unknown_format_lists_the_valid_ones(env: dict[str, str], database_url: str) -> None:
    result = run(["export", str(uuid.uuid4()), "--format", "docx"], env)
    assert result.exit_code == 2
    assert "'docx' is not one of 'json', 'csv', 'txt', 'srt', 'vtt'" in result.stderr


def test_an_unmigrated_database_points_at_the_fix(tmp_path: Path) -> None:
    result = run(["export", str(uuid.uuid4())], {"LAHSTATS_DATA_DIR": str(tmp_path / "empty")})
    assert result.exit_code == 1
    assert "lahstats db upgrade" in result.stderr
    assert result.stdout == ""
