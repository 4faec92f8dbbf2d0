"""``DELETE /sessions/{id}`` leaves no row and no blob of the session behind, on SQLite and
PostgreSQL: every table that names a session (found from the schema, not from a list) is counted
before and after, and so is the session's storage directory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from lahstats.settings import Settings
from lahstats.storage.database import Database
from tests.api.audio import tone
from tests.api.conftest import Api, ApiFactory, User
from tests.api.full_session import census, full_session, stored_files


@pytest.fixture
async def api(settings: Settings, database: Database, api_for: ApiFactory) -> AsyncIterator[Api]:
    """The app on both backends (``database`` empties the shared PostgreSQL one afterwards)."""
    async with api_for(settings.model_copy(update={"database_url": database.url})) as opened:
        yield opened


async def wrapped_total(api: Api, user: User) -> int:
    got = await api.client.get(
        f"/users/me/wrapped?year={datetime.now(UTC).year}", headers=user.headers
    )
    assert got.status_code == 200, got.text
    return int(got.json()["total_words"])


async def test_deleting_a_session_leaves_no_row_and_no_blob(api: Api) -> None:
    ana, ben, cat = api.user("Ana"), api.user("Ben"), api.user("Cat")
    group = await api.group(ana, ben, cat)
    doomed = await full_session(
        api,
        ana,
        group,
        claims={
            "SPEAKER_00": (ana, {"claim_type": "self"}),  # lah 3, walao 1
            "SPEAKER_01": (ben, {"claim_type": "self"}),
            "SPEAKER_02": (ana, {"claim_type": "user", "user_id": str(cat.id)}),
            "SPEAKER_03": (ben, {"claim_type": "guest", "guest_name": "Uncle Lim"}),
        },
    )
    kept = await full_session(api, ana, group, claims={"SPEAKER_00": (ana, {"claim_type": "self"})})
    storage = api.settings.resolved_storage_dir

    before = await census(api.runtime.database, doomed.uuid)
    # The builder fills every table that can name a session: a table added later must be filled
    # there too, or this test would pass without ever looking at it.
    assert before
    assert all(before.values()), before
    assert {"word_counts", "session_recognitions", "webhook_deliveries"} <= set(before)
    assert len(stored_files(storage, doomed.uuid)) == 2 + 5  # chunks + samples
    kept_before = await census(api.runtime.database, kept.uuid)
    assert await wrapped_total(api, ana) == 4 + 4
    assert await wrapped_total(api, cat) == 3

    deleted = await api.client.delete(f"/sessions/{doomed.id}", headers=ana.headers)
    assert deleted.status_code == 204, deleted.text

    assert await census(api.runtime.database, doomed.uuid) == dict.fromkeys(before, 0)
    assert not (storage / "sessions" / doomed.id).exists()
    assert await wrapped_total(api, ana) == 4  # the claimed counts went with it, for everyone
    assert await wrapped_total(api, cat) == 0
    # ... and nothing of the other session did.
    assert await census(api.runtime.database, kept.uuid) == kept_before
    assert len(stored_files(storage, kept.uuid)) == 2 + 5


async def test_a_session_being_processed_is_kept_whole(api: Api) -> None:
    ana = api.user("Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    put = await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert put.status_code == 201
    assert (await api.client.post(f"/sessions/{sid}/end", headers=ana.headers)).status_code == 202

    refused = await api.client.delete(f"/sessions/{sid}", headers=ana.headers)
    assert refused.status_code == 409
    assert "being processed" in refused.json()["message"]
    assert (await census(api.runtime.database, uuid.UUID(sid)))["audio_chunks"] == 1
    assert len(stored_files(api.settings.resolved_storage_dir, uuid.UUID(sid))) == 1
