"""The whole product over HTTP, with the real embedded pipeline.

A token, a group, a session; a dev conversation's 30 s chunks uploaded in their mixed formats;
end; progress followed over server-sent events; speakers with playable samples and counts; every
speaker claimed; Wrapped and the leaderboard showing exactly the claimed counts. Once on
PostgreSQL + Redis (ARQ workers inside the app) and once embedded (SQLite, in-process jobs).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from lahstats.api.app import create_app
from lahstats.auth.tokens import create_token, user_id_for_email
from lahstats.settings import Settings
from lahstats.storage.migrations import upgrade
from tests.api.conftest import serving
from tests.api.test_events import parse_sse

RECORDING = "dev_conv04"  # 4 voices, chunks as webm, m4a, mp3 and wav

pytestmark = pytest.mark.slow


@pytest.fixture(params=["postgres+redis", "sqlite"])
def flow_settings(
    request: pytest.FixtureRequest, settings: Settings, shared_data: Path
) -> Settings:
    if request.param == "sqlite":
        return settings
    return settings.model_copy(
        update={
            "database_url": request.getfixturevalue("migrated_postgres_url"),
            "redis_url": request.getfixturevalue("redis_url"),
            "queue_name": request.getfixturevalue("queue_name"),
        }
    )


def chunk_files(shared_data: Path) -> list[tuple[int, Path, str]]:
    folder = shared_data / "dev" / "synthetic" / "conversations" / f"{RECORDING}_chunks"
    manifest = json.loads((folder / "manifest.json").read_text())
    return [(c["index"], folder / c["file"], c["format"]) for c in manifest["chunks"]]


CONTENT_TYPES = {"webm": "audio/webm", "m4a": "audio/mp4", "mp3": "audio/mpeg", "wav": "audio/wav"}


def auth(settings: Settings, name: str) -> dict[str, str]:
    token = create_token(settings, email=f"{name}@example.com", name=name.title())
    return {"Authorization": f"Bearer {token}"}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_record_process_claim_and_see_wrapped(
    flow_settings: Settings, shared_data: Path
) -> None:
    settings = flow_settings
    ana, ben = auth(settings, "ana"), auth(settings, "ben")
    if settings.database_backend == "sqlite":
        await asyncio.to_thread(upgrade, settings.resolved_database_url)
    async with serving(create_app(settings)) as client:
        group = await ok(await client.post("/groups", json={"name": "Kopi"}, headers=ana), 201)
        await ok(
            await client.post(
                "/groups/join", json={"invite_code": group["invite_code"]}, headers=ben
            )
        )
        session = await ok(
            await client.post("/sessions/start", json={"group_id": group["id"]}, headers=ana), 201
        )
        sid = session["id"]

        chunks_sent = len(chunk_files(shared_data))
        live_counts: list[dict[str, Any]] = []
        all_looked_at = asyncio.Event()

        async def watch_live() -> list[dict[str, Any]]:
            # as the page's EventSource does: the token in the query
            token = ben["Authorization"].removeprefix("Bearer ")
            url = f"/sessions/{sid}/live?access_token={token}"
            text = ""
            async with client.stream("GET", url, timeout=600) as stream:
                assert stream.status_code == 200
                async for piece in stream.aiter_text():
                    text += piece
                    live_counts[:] = [m["data"] for m in parse_sse(text) if m["event"] == "counts"]
                    if live_counts and live_counts[-1]["chunks"] == chunks_sent:
                        all_looked_at.set()
            return parse_sse(text)

        live = asyncio.create_task(watch_live())

        # Upload as the app does: alternately multipart and raw PUT, one retry in between.
        for number, path, fmt in chunk_files(shared_data):
            data = path.read_bytes()
            if number % 2:
                response = await client.put(
                    f"/sessions/{sid}/chunks/{number}",
                    content=data,
                    headers={**ana, "Content-Type": CONTENT_TYPES[fmt]},
                )
            else:
                response = await client.post(
                    f"/sessions/{sid}/upload",
                    files={"file": (path.name, data, CONTENT_TYPES[fmt])},
                    data={"chunk_number": str(number)},
                    headers=ana,
                )
            await ok(response, 201)
        retry = await client.put(
            f"/sessions/{sid}/chunks/1",
            content=chunk_files(shared_data)[1][1].read_bytes(),
            headers={**ana, "Content-Type": "audio/mp4"},
        )
        assert (await ok(retry))["created"] is False

        # Each chunk is looked at as it arrives, and the live counts move while recording goes
        # on; a phone's chunks arrive over minutes, so wait for all before ending.
        async with asyncio.timeout(600):
            await all_looked_at.wait()
        assert all(counts["provisional"] for counts in live_counts)
        seen = [counts["chunks"] for counts in live_counts]
        assert seen == sorted(seen)
        assert sum(live_counts[-1]["totals"].values()) > 0, live_counts[-1]
        assert live_counts[-1]["skipped_chunks"] == []

        async def watch() -> str:
            stream = await client.get(f"/sessions/{sid}/events", headers=ben, timeout=600)
            assert stream.status_code == 200
            return str(stream.text)

        watcher = asyncio.create_task(watch())
        assert (await ok(await client.post(f"/sessions/{sid}/end", headers=ana), 202)) == {
            "id": sid,
            "status": "processing",
        }
        async with asyncio.timeout(600):
            messages = parse_sse(await watcher)
            live_end = (await live)[-1]
        assert live_end["event"] == "status"  # the live stream ends when recording does

        progress = [m["data"] for m in messages if m["event"] == "progress"]
        percents = [p["progress"] for p in progress]
        assert percents == sorted(percents), "progress never goes backwards"
        assert percents[0] == 0
        assert percents[-1] == 100
        stages = {p["stage"] for p in progress}
        assert {"decode", "diarize", "transcribe", "done"} <= stages
        assert messages[-1]["event"] == "status"
        assert messages[-1]["data"]["status"] == "ready_for_claiming", messages[-1]

        status = await ok(await client.get(f"/sessions/{sid}/status", headers=ana))
        assert status == {
            "status": "ready_for_claiming",
            "progress": 100,
            "stage": "done",
            "error_message": None,
        }
        speakers = (await ok(await client.get(f"/sessions/{sid}/speakers", headers=ana)))[
            "speakers"
        ]
        assert 2 <= len(speakers) <= 6
        said = Counter[str]()
        for speaker in speakers:
            said.update(speaker["word_counts"])
            assert speaker["total_duration_seconds"] > 0
            assert speaker["claim_type"] is None
            # The sample plays without a token: the signed URL is the credential.
            sample = await client.get(speaker["sample_audio_url"])  # no Authorization header
            assert sample.status_code == 200, sample.text
            assert sample.headers["content-type"] == "audio/mpeg"
            clip, rate = sf.read(io.BytesIO(sample.content))
            assert 2.0 <= len(clip) / rate <= 6.0
        assert said.total() > 0, "the pipeline counted no target word at all"
        transcript = await ok(await client.get(f"/sessions/{sid}/transcript", headers=ben))
        assert any(line["text"] for line in transcript["segments"])

        # Ana is the first voice and the third (diarization may split a voice); Ben the second;
        # the rest are guests. The session completes with the last claim.
        ana_id = str(user_id_for_email("ana@example.com"))
        ben_id = str(user_id_for_email("ben@example.com"))
        claims: dict[str, Counter[str]] = {ana_id: Counter(), ben_id: Counter()}
        for index, speaker in enumerate(speakers):
            if index in (0, 2):
                body: dict[str, Any] = {"speaker_id": speaker["id"], "claim_type": "self"}
                claims[ana_id].update(speaker["word_counts"])
                who = ana
            elif index == 1:
                body = {"speaker_id": speaker["id"], "claim_type": "user", "user_id": ben_id}
                claims[ben_id].update(speaker["word_counts"])
                who = ana
            else:
                body = {
                    "speaker_id": speaker["id"],
                    "claim_type": "guest",
                    "guest_name": f"Guest {index}",
                }
                who = ben
            state = await ok(await client.get(f"/sessions/{sid}/status", headers=ana))
            assert state["status"] == "ready_for_claiming"
            assert await ok(
                await client.post(f"/sessions/{sid}/claim", json=body, headers=who)
            ) == {"success": True}
        state = await ok(await client.get(f"/sessions/{sid}/status", headers=ana))
        assert state["status"] == "completed"

        year = datetime.now(UTC).year
        for user_id, headers in ((ana_id, ana), (ben_id, ben)):
            wrapped = await ok(await client.get(f"/users/me/wrapped?year={year}", headers=headers))
            expected = +claims[user_id]
            assert wrapped["total_words"] == expected.total()
            ranked = sorted(expected.items(), key=lambda item: (-item[1], item[0]))
            assert [(w["word"], w["count"]) for w in wrapped["top_words"]] == ranked[:10]
            assert wrapped["favorite_word"] == (ranked[0][0] if ranked else None)
            assert wrapped["sessions"] == 1
            assert wrapped["minutes_recorded"] > 1.0
            assert sum(wrapped["by_month"].values()) == expected.total()
        board = await ok(
            await client.get(f"/groups/{group['id']}/leaderboard?year={year}", headers=ben)
        )
        assert {e["user_id"]: e["count"] for e in board["entries"]} == {
            ana_id: claims[ana_id].total(),
            ben_id: claims[ben_id].total(),
        }
