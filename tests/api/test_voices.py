"""``/users/me/voice`` (enrolment with the real VAD and encoder); a group's auto-claim."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.api.audio import tone
from tests.api.conftest import Api

SPEECH = Path(__file__).parents[1] / "fixtures" / "audio" / "two_speakers.flac"  # 16.5 s


def silence(seconds: float) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * 16_000), np.float32), 16_000, format="WAV")
    return out.getvalue()


async def test_a_voice_is_enrolled_from_a_short_recording_and_can_be_forgotten(api: Api) -> None:
    ana = api.user("Ana")
    enrolled = await api.client.post(
        "/users/me/voice",
        content=SPEECH.read_bytes(),
        headers={**ana.headers, "Content-Type": "audio/flac"},
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert 16.0 <= body["enrolment"]["duration_seconds"] <= 17.0
    assert 5.0 <= body["speech_seconds"] <= 16.5

    voice = (await api.client.get("/users/me/voice", headers=ana.headers)).json()
    assert [e["id"] for e in voice["enrolments"]] == [body["enrolment"]["id"]]
    assert [(p["embedding_model"], p["source_count"]) for p in voice["voiceprints"]] == [
        ("wespeaker-community1", 1)
    ]
    # Another user sees their own (empty) voice, not Ana's.
    ben = (await api.client.get("/users/me/voice", headers=api.user("Ben").headers)).json()
    assert ben == {"enrolments": [], "voiceprints": []}

    assert (await api.client.delete("/users/me/voice", headers=ana.headers)).status_code == 204
    voice = (await api.client.get("/users/me/voice", headers=ana.headers)).json()
    assert voice == {"enrolments": [], "voiceprints": []}


async def test_recordings_that_cannot_make_a_voice_are_refused_with_what_to_do(api: Api) -> None:
    ana = api.user("Ana")
    cases = {
        "too short": (tone(3.0), "3.0 s long"),
        "too long": (tone(45.0), "45.0 s long"),
        "silent": (silence(12.0), "speech was heard"),
        "not audio": (b"hello, this is not audio" * 10, "voice recording"),
        "empty": (b"", "no audio"),
    }
    for name, (data, reason) in cases.items():
        response = await api.client.post(
            "/users/me/voice", content=data, headers={**ana.headers, "Content-Type": "audio/wav"}
        )
        assert response.status_code in {400, 415, 422}, (name, response.text)
        assert reason in response.text, (name, response.text)
    voice = (await api.client.get("/users/me/voice", headers=ana.headers)).json()
    assert voice["enrolments"] == []


async def test_only_the_owner_turns_auto_claim_on(api: Api) -> None:
    ana, ben, eve = api.user("Ana"), api.user("Ben"), api.user("Eve")
    group = await api.group(ana, ben)
    assert group["auto_claim_voices"] is False
    path = f"/groups/{group['id']}"
    refused = await api.client.patch(path, json={"auto_claim_voices": True}, headers=ben.headers)
    assert refused.status_code == 403, refused.text
    hidden = await api.client.patch(path, json={"auto_claim_voices": True}, headers=eve.headers)
    assert hidden.status_code == 404
    changed = await api.client.patch(path, json={"auto_claim_voices": True}, headers=ana.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["auto_claim_voices"] is True
    seen = await api.client.get(path, headers=ben.headers)
    assert seen.json()["auto_claim_voices"] is True
