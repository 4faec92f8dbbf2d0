"""The same friend recognised in every hangout: the dev pair of sessions that share voice d04.

Over HTTP with the real embedded pipeline (SQLite, in-process jobs): dev_session1 is processed and
its d04 speaker claimed by Ana; dev_session2 then suggests Ana for exactly the speaker that is d04
and nobody for the others. A voice enrolled before any session (Cher, d01's voice cut from another
recording) is then suggested too, and turning auto-claim on claims confident matches by itself.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.api.app import create_app
from lahstats.auth.tokens import user_id_for_email
from lahstats.evaluation.metrics import map_speakers
from lahstats.evaluation.rttm import read_rttm
from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.types import SAMPLE_RATE, Turn
from lahstats.settings import Settings
from lahstats.storage.migrations import upgrade
from tests.api.conftest import serving
from tests.e2e.test_session_flow import CONTENT_TYPES, auth, ok

pytestmark = pytest.mark.slow

SESSIONS = Path("dev") / "synthetic" / "sessions"


async def record(client: Any, headers: dict[str, str], group_id: str, folder: Path) -> str:
    """Starts a session, uploads the folder's chunks, ends it and waits until it is processed."""
    sid = (
        await ok(
            await client.post("/sessions/start", json={"group_id": group_id}, headers=headers), 201
        )
    )["id"]
    manifest = json.loads((folder / "manifest.json").read_text())
    for chunk in manifest["chunks"]:
        await ok(
            await client.put(
                f"/sessions/{sid}/chunks/{chunk['index']}",
                content=(folder / chunk["file"]).read_bytes(),
                headers={**headers, "Content-Type": CONTENT_TYPES[chunk["format"]]},
            ),
            201,
        )
    await ok(await client.post(f"/sessions/{sid}/end", headers=headers), 202)
    async with asyncio.timeout(600):
        while True:
            status = await ok(await client.get(f"/sessions/{sid}/status", headers=headers))
            if status["status"] != "processing":
                break
            await asyncio.sleep(0.5)
    assert status["status"] == "ready_for_claiming", status
    return str(sid)


async def speaker_identities(
    client: Any, headers: dict[str, str], sid: str, rttm: Path
) -> dict[str, str]:
    """``{speaker id: reference voice}``, from where each speaker's transcript lines lie."""
    lines = (await ok(await client.get(f"/sessions/{sid}/transcript", headers=headers)))["segments"]
    turns = [
        Turn(line["speaker_id"], line["start_seconds"], line["end_seconds"])
        for line in lines
        if line["speaker_id"] and line["end_seconds"] > line["start_seconds"]
    ]
    return map_speakers(read_rttm(rttm), turns)


def voice_recording(shared_data: Path, recording: str, voice: str, seconds: float) -> bytes:
    """About ``seconds`` of one reference voice, cut from a recording by its RTTM, as WAV."""
    folder = shared_data / "dev" / "synthetic" / "conversations"
    audio = decode_file(folder / f"{recording}.wav")
    pieces, total = [], 0.0
    for turn in read_rttm(folder / f"{recording}.rttm"):
        if turn.speaker == voice and total < seconds:
            pieces.append(audio.slice(turn.start, turn.end))
            total += turn.end - turn.start
    samples = np.concatenate(pieces)[: int(seconds * SAMPLE_RATE)]
    out = io.BytesIO()
    sf.write(out, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


async def test_a_claimed_voice_is_suggested_in_the_next_session(
    settings: Settings, shared_data: Path
) -> None:
    ana, ben, cher = (auth(settings, name) for name in ("ana", "ben", "cher"))
    ana_id = str(user_id_for_email("ana@example.com"))
    cher_id = str(user_id_for_email("cher@example.com"))
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    async with serving(create_app(settings)) as client:
        group = await ok(await client.post("/groups", json={"name": "Kopi"}, headers=ana), 201)
        for member in (ben, cher):
            await ok(
                await client.post(
                    "/groups/join", json={"invite_code": group["invite_code"]}, headers=member
                )
            )

        first = await record(
            client, ana, group["id"], shared_data / SESSIONS / "dev_session1_chunks"
        )
        who = await speaker_identities(
            client, ana, first, shared_data / SESSIONS / "dev_session1.rttm"
        )
        d04 = next(speaker for speaker, voice in who.items() if voice == "d04")
        await ok(
            await client.post(
                f"/sessions/{first}/claim",
                json={"speaker_id": d04, "claim_type": "self"},
                headers=ana,
            )
        )
        voice = await ok(await client.get("/users/me/voice", headers=ana))
        assert [p["source_count"] for p in voice["voiceprints"]] == [1]

        second = await record(
            client, ben, group["id"], shared_data / SESSIONS / "dev_session2_chunks"
        )
        who = await speaker_identities(
            client, ben, second, shared_data / SESSIONS / "dev_session2.rttm"
        )
        speakers = (await ok(await client.get(f"/sessions/{second}/speakers", headers=ben)))[
            "speakers"
        ]
        suggested = {s["id"]: s["suggested_user_id"] for s in speakers if s["suggested_user_id"]}
        d04_now = next(speaker for speaker, voice in who.items() if voice == "d04")
        assert suggested == {d04_now: ana_id}, (who, speakers)
        confidence = next(s["suggestion_confidence"] for s in speakers if s["id"] == d04_now)
        assert 0.5 <= confidence <= 1.0

        # A voice enrolled before any session of hers: Cher speaks as d01 (cut from dev_conv01).
        enrolled = await client.post(
            "/users/me/voice",
            content=voice_recording(shared_data, "dev_conv01", "d01", 15.0),
            headers={**cher, "Content-Type": "audio/wav"},
        )
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["speech_seconds"] >= 5.0
        speakers = (await ok(await client.get(f"/sessions/{second}/speakers", headers=ben)))[
            "speakers"
        ]
        suggested = {s["id"]: s["suggested_user_id"] for s in speakers if s["suggested_user_id"]}
        d01_now = next(speaker for speaker, voice in who.items() if voice == "d01")
        assert suggested == {d04_now: ana_id, d01_now: cher_id}, (who, speakers)

        # Claiming the suggestion is one tap; the suggestion is gone once claimed.
        await ok(
            await client.post(
                f"/sessions/{second}/claim",
                json={"speaker_id": d04_now, "claim_type": "self"},
                headers=ana,
            )
        )
        speakers = (await ok(await client.get(f"/sessions/{second}/speakers", headers=ben)))[
            "speakers"
        ]
        assert {s["id"]: s["suggested_user_id"] for s in speakers if s["suggested_user_id"]} == {
            d01_now: cher_id
        }
        voice = await ok(await client.get("/users/me/voice", headers=ana))
        assert [p["source_count"] for p in voice["voiceprints"]] == [2]
