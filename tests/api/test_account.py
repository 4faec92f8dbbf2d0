"""``DELETE /users/me`` on SQLite and PostgreSQL: the profile, voice and claimed counts go; other
people's claims stay; sessions reopen for claiming; groups pass on or, left empty, go with their
sessions and blobs; the token afterwards is a new, empty user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from lahstats.settings import Settings
from lahstats.storage.database import Database
from lahstats.storage.models import (
    GroupMember,
    Profile,
    RecordingSession,
    SessionStatus,
    VoiceEnrolment,
    Voiceprint,
    WordCount,
)
from tests.api.audio import tone
from tests.api.conftest import Api, ApiFactory, User
from tests.api.full_session import FullSession, census, full_session, stored_files


@pytest.fixture
async def api(settings: Settings, database: Database, api_for: ApiFactory) -> AsyncIterator[Api]:
    """The app on both backends (``database`` empties the shared PostgreSQL one afterwards)."""
    async with api_for(settings.model_copy(update={"database_url": database.url})) as opened:
        yield opened


@dataclass(frozen=True)
class World:
    ana: User  # deletes her account
    ben: User  # joined Ana's group first
    cat: User
    shared: FullSession  # in Ana's group with Ben and Cat, started by Ana
    alone: FullSession  # in a group where Ana is the only member


async def world(api: Api) -> World:
    ana, ben, cat = api.user("Ana"), api.user("Ben"), api.user("Cat")
    group = await api.group(ana, ben, cat)
    shared = await full_session(
        api,
        ana,
        group,
        claims={
            "SPEAKER_00": (ana, {"claim_type": "self"}),
            "SPEAKER_01": (ben, {"claim_type": "self"}),
            "SPEAKER_02": (ana, {"claim_type": "user", "user_id": str(cat.id)}),  # for Cat
            "SPEAKER_03": (ben, {"claim_type": "user", "user_id": str(ana.id)}),  # Ana, by Ben
            "SPEAKER_04": (ana, {"claim_type": "guest", "guest_name": "Uncle Lim"}),
        },
    )
    alone = await full_session(
        api,
        ana,
        await api.group(ana, name="Just me"),
        claims={"SPEAKER_00": (ana, {"claim_type": "self"})},
    )
    async with api.runtime.database.session() as db:
        db.add(Voiceprint(user_id=ana.id, embedding_model="ge2e", vector=b"\0" * 16))
        db.add(
            VoiceEnrolment(
                user_id=ana.id, embedding_model="ge2e", vector=b"\0" * 16, duration_seconds=8.0
            )
        )
    return World(ana, ben, cat, shared, alone)


async def speakers(api: Api, user: User, sid: str) -> dict[str, dict[str, Any]]:
    got = await api.client.get(f"/sessions/{sid}/speakers", headers=user.headers)
    assert got.status_code == 200, got.text
    return {s["speaker_label"]: s for s in got.json()["speakers"]}


async def rows_of(database: Database, user_id: uuid.UUID) -> dict[str, int]:
    async with database.session() as db:
        return {
            model.__tablename__: int(
                await db.scalar(
                    select(func.count()).select_from(model).where(col(column) == user_id)
                )
                or 0
            )
            for model, column in [
                (Profile, Profile.id),
                (GroupMember, GroupMember.user_id),
                (Voiceprint, Voiceprint.user_id),
                (VoiceEnrolment, VoiceEnrolment.user_id),
                (WordCount, WordCount.user_id),
            ]
        }


async def test_deleting_an_account_removes_the_person_and_keeps_the_group(api: Api) -> None:
    w = await world(api)
    assert all(await rows_of(api.runtime.database, w.ana.id))
    before = await speakers(api, w.ben, w.shared.id)
    assert all(s["claim_type"] for s in before.values())
    status = await api.client.get(f"/sessions/{w.shared.id}", headers=w.ben.headers)
    assert status.json()["status"] == "completed"
    ben_counts = await rows_of(api.runtime.database, w.ben.id)
    cat_counts = await rows_of(api.runtime.database, w.cat.id)

    deleted = await api.client.delete("/users/me", headers=w.ana.headers)
    assert deleted.status_code == 204, deleted.text

    assert await rows_of(api.runtime.database, w.ana.id) == {
        "profiles": 0,
        "group_members": 0,
        "voiceprints": 0,
        "voice_enrolments": 0,
        "word_counts": 0,
    }
    after = await speakers(api, w.ben, w.shared.id)
    claim_fields = ("claimed_by", "claim_type", "attributed_to_user_id", "guest_name")
    for label in ("SPEAKER_00", "SPEAKER_03"):  # her voice: unclaimed, whoever claimed it
        assert [after[label][field] for field in claim_fields] == [None] * len(claim_fields)
    # Ben's own claim, untouched (the sample URL is signed anew, with a later expiry).
    unsigned = [
        {k: v for k, v in speaker.items() if k != "sample_audio_url"}
        for speaker in (after["SPEAKER_01"], before["SPEAKER_01"])
    ]
    assert unsigned[0] == unsigned[1]
    assert after["SPEAKER_02"]["claim_type"] == "user"  # her claim for Cat stays Cat's
    assert after["SPEAKER_02"]["attributed_to_user_id"] == str(w.cat.id)
    assert after["SPEAKER_02"]["claimed_by"] is None
    assert after["SPEAKER_04"]["guest_name"] == "Uncle Lim"
    assert after["SPEAKER_04"]["claimed_by"] is None
    assert await rows_of(api.runtime.database, w.ben.id) == ben_counts
    assert await rows_of(api.runtime.database, w.cat.id) == cat_counts

    session = (await api.client.get(f"/sessions/{w.shared.id}", headers=w.ben.headers)).json()
    assert session["status"] == "ready_for_claiming"
    assert session["started_by"] is None
    reclaimed = await api.client.post(
        f"/sessions/{w.shared.id}/claim",
        json={"speaker_id": w.shared.speakers["SPEAKER_00"], "claim_type": "self"},
        headers=w.cat.headers,
    )
    assert reclaimed.status_code == 200, reclaimed.text

    group = (await api.client.get(f"/groups/{w.shared.group['id']}", headers=w.ben.headers)).json()
    roles = {m["user_id"]: m["role"] for m in group["members"]}
    assert roles == {str(w.ben.id): "owner", str(w.cat.id): "member"}

    # Her own group went with her, with its session's rows and blobs.
    assert not any((await census(api.runtime.database, w.alone.uuid)).values())
    assert not stored_files(api.settings.resolved_storage_dir, w.alone.uuid)
    assert len(stored_files(api.settings.resolved_storage_dir, w.shared.uuid)) == 2 + 5

    # Her token still verifies: it is a new, empty user now.
    me = await api.client.get("/users/me", headers=w.ana.headers)
    assert me.status_code == 200
    mine = await api.client.get("/groups", headers=w.ana.headers)
    assert mine.json()["groups"] == []
    hidden = await api.client.get(f"/sessions/{w.shared.id}", headers=w.ana.headers)
    assert hidden.status_code == 404


async def test_a_member_leaving_changes_no_ownership(api: Api) -> None:
    ana, ben = api.user("Ana"), api.user("Ben")
    group = await api.group(ana, ben)
    deleted = await api.client.delete("/users/me", headers=ben.headers)
    assert deleted.status_code == 204
    got = (await api.client.get(f"/groups/{group['id']}", headers=ana.headers)).json()
    assert [(m["user_id"], m["role"]) for m in got["members"]] == [(str(ana.id), "owner")]


async def test_an_account_whose_lone_group_is_processing_is_kept(api: Api) -> None:
    ana = api.user("Ana")
    sid = (await api.session(ana, await api.group(ana)))["id"]
    put = await api.client.put(
        f"/sessions/{sid}/chunks/0",
        content=tone(),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert put.status_code == 201
    assert (await api.client.post(f"/sessions/{sid}/end", headers=ana.headers)).status_code == 202

    refused = await api.client.delete("/users/me", headers=ana.headers)
    assert refused.status_code == 409
    assert "being processed" in refused.json()["message"]
    assert "delete your account again" in refused.json()["hint"]
    assert (await rows_of(api.runtime.database, ana.id))["profiles"] == 1
    async with api.runtime.database.session() as db:
        recording = await db.get(RecordingSession, uuid.UUID(sid))
        assert recording is not None
        assert recording.status == SessionStatus.PROCESSING
    assert stored_files(api.settings.resolved_storage_dir, uuid.UUID(sid))
