"""Chunk uploads: stored once, retries harmless, never replaced, bad input refused with a reason
and nothing half-stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from lahstats.pipeline.decode import decode_bytes
from lahstats.pipeline.types import SAMPLE_RATE
from lahstats.settings import Settings
from lahstats.storage.repositories import ChunkRepository
from tests.api.audio import header_only_wav, tone
from tests.api.conftest import Api, ApiFactory, User

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
# What phones record, labelled as their apps label it: (file, content type sent, type stored)
PHONE_FORMATS = {
    "ogg-opus": ("phone.opus", "audio/ogg", "audio/ogg"),
    "flac": ("two_speakers.flac", "audio/flac", "audio/flac"),
    "3gp": ("phone.3gp", "audio/3gpp", "audio/mp4"),
    "caf": ("phone.caf", "audio/x-caf", "audio/x-caf"),
    "adts-aac": ("quiet_start.aac", "audio/aac", "audio/aac"),
}


async def put_chunk(
    api: Api, user: User, sid: str, number: int, data: bytes, content_type: str = "audio/wav"
) -> Any:
    return await api.client.put(
        f"/sessions/{sid}/chunks/{number}",
        content=data,
        headers={**user.headers, "Content-Type": content_type},
    )


async def upload(
    api: Api,
    user: User,
    sid: str,
    number: int,
    data: bytes,
    name: str = "c.wav",
    kind: str = "audio/wav",
) -> Any:
    return await api.client.post(
        f"/sessions/{sid}/upload",
        files={"file": (name, data, kind)},
        data={"chunk_number": str(number)},
        headers=user.headers,
    )


def stored_blobs(api: Api, sid: str) -> list[Path]:
    root = Path(api.settings.resolved_storage_dir) / "sessions" / sid
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def stored_chunks(api: Api, sid: str) -> list[int]:
    async with api.runtime.database.session() as db:
        return [c.chunk_number for c in await ChunkRepository(db).list_for_session(uuid.UUID(sid))]


async def recording(api: Api) -> tuple[User, str]:
    ana = api.user("Ana")
    return ana, (await api.session(ana, await api.group(ana)))["id"]


async def test_multipart_upload_stores_a_chunk_and_a_retry_writes_nothing(api: Api) -> None:
    ana, sid = await recording(api)
    audio = tone(1.5)
    first = await upload(api, ana, sid, 0, audio)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["success"] is True
    assert body["created"] is True
    assert body["chunk_number"] == 0
    assert body["size_bytes"] == len(audio)
    assert body["duration_seconds"] == pytest.approx(1.5, abs=0.01)
    assert len(body["sha256"]) == 64

    again = await upload(api, ana, sid, 0, audio)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert len(stored_blobs(api, sid)) == 1


async def test_put_is_idempotent_and_other_bytes_for_a_stored_number_are_409(api: Api) -> None:
    ana, sid = await recording(api)
    flac = tone(1.0, fmt="FLAC")
    assert (await put_chunk(api, ana, sid, 3, flac, "audio/flac")).status_code == 201
    assert (await put_chunk(api, ana, sid, 3, flac, "audio/flac")).status_code == 200
    clash = await put_chunk(api, ana, sid, 3, tone(2.0))
    assert clash.status_code == 409
    assert "different audio" in clash.json()["message"]
    blobs = stored_blobs(api, sid)
    assert [p.suffix for p in blobs] == [".flac"]  # the stored chunk was not replaced


async def test_the_format_is_sniffed_not_taken_from_the_name(api: Api) -> None:
    ana, sid = await recording(api)
    response = await upload(
        api, ana, sid, 0, tone(1.0, fmt="FLAC"), name="lies.mp3", kind="audio/mpeg"
    )
    assert response.status_code == 201, response.text
    assert [p.suffix for p in stored_blobs(api, sid)] == [".flac"]
    assert response.json()["content_type"] == "audio/flac"  # what the bytes are, not the claim


@pytest.mark.parametrize(
    ("name", "sent_as", "stored_as"), PHONE_FORMATS.values(), ids=list(PHONE_FORMATS)
)
async def test_every_phone_format_is_stored_with_the_length_it_decodes_to(
    api: Api, name: str, sent_as: str, stored_as: str
) -> None:
    data = (FIXTURES / name).read_bytes()
    seconds = len(decode_bytes(data)) / SAMPLE_RATE
    ana, sid = await recording(api)
    for response in (
        await upload(api, ana, sid, 0, data, name=name, kind=sent_as),
        await put_chunk(api, ana, sid, 1, data, sent_as),
    ):
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["content_type"] == stored_as
        # Within one AAC frame (64 ms: MP4's edit list trims the encoder's priming, decoding
        # keeps it), never a guess from the bitrate (10.4 s for quiet_start.aac)
        assert body["duration_seconds"] == pytest.approx(seconds, abs=0.07)
    assert len(stored_blobs(api, sid)) == 2


@pytest.mark.parametrize(
    ("data", "content_type", "status", "says"),
    [
        (b"", "audio/wav", 422, "empty"),
        (header_only_wav(), "audio/wav", 422, "0 samples"),
        (b"walao eh lah, this is text pretending to be audio " * 20, "audio/wav", 422, "not audio"),
        (tone(), "text/plain", 415, "not audio"),
        (tone(), "application/json", 415, "not audio"),
    ],
    ids=["empty", "header-only", "text-as-wav", "text-plain", "json"],
)
async def test_bad_chunks_are_refused_with_a_reason_and_nothing_is_stored(
    api: Api, data: bytes, content_type: str, status: int, says: str
) -> None:
    ana, sid = await recording(api)
    for response in (
        await put_chunk(api, ana, sid, 0, data, content_type),
        await upload(api, ana, sid, 0, data, kind=content_type),
    ):
        assert response.status_code == status, response.text
        body = response.json()
        assert says in body["message"].lower()
        assert body["hint"]
    assert stored_blobs(api, sid) == []
    end = await api.client.post(f"/sessions/{sid}/end", headers=ana.headers)
    assert end.status_code == 409  # still no chunk: nothing was half-stored


async def test_a_chunk_over_the_size_cap_is_413(settings: Settings, api_for: ApiFactory) -> None:
    async with api_for(settings.model_copy(update={"max_chunk_bytes": 16_000})) as api:
        ana, sid = await recording(api)
        big = tone(1.0)  # 32 KB of WAV
        assert (await put_chunk(api, ana, sid, 0, big)).status_code == 413
        assert (await upload(api, ana, sid, 0, big)).status_code == 413
        assert (await put_chunk(api, ana, sid, 0, tone(0.25))).status_code == 201
        assert [p.stat().st_size for p in stored_blobs(api, sid)] == [len(tone(0.25))]


async def test_a_chunk_longer_than_the_chunk_limit_is_413_and_nothing_is_stored(
    settings: Settings, api_for: ApiFactory
) -> None:
    async with api_for(settings.model_copy(update={"max_chunk_seconds": 2})) as api:
        ana, sid = await recording(api)
        long = tone(2.5)
        for response in (
            await put_chunk(api, ana, sid, 0, long),
            await upload(api, ana, sid, 0, long),
        ):
            assert response.status_code == 413, response.text
            body = response.json()
            assert "chunk 0" in body["message"]
            assert "is 2.5 s long" in body["message"]
            assert "2.0 s limit for one chunk" in body["message"]
            assert "shorter chunks" in body["hint"]
        assert stored_blobs(api, sid) == []
        assert await stored_chunks(api, sid) == []
        assert (await put_chunk(api, ana, sid, 0, tone(2.0))).status_code == 201  # at the limit


async def test_a_chunk_past_the_session_limit_is_413_and_nothing_is_stored(
    settings: Settings, api_for: ApiFactory
) -> None:
    async with api_for(settings.model_copy(update={"max_session_seconds": 3})) as api:
        ana, sid = await recording(api)
        assert (await put_chunk(api, ana, sid, 0, tone(2.0))).status_code == 201
        over = tone(1.5)
        for response in (
            await put_chunk(api, ana, sid, 1, over),
            await upload(api, ana, sid, 1, over),
        ):
            assert response.status_code == 413, response.text
            body = response.json()
            assert "is 1.5 s long" in body["message"]
            assert "bring the session to 3.5 s" in body["message"]
            assert "3.0 s limit for one session" in body["message"]
            assert "new one" in body["hint"]
        assert len(stored_blobs(api, sid)) == 1
        assert await stored_chunks(api, sid) == [0]
        assert (await put_chunk(api, ana, sid, 1, tone(1.0))).status_code == 201  # at the limit
        assert await stored_chunks(api, sid) == [0, 1]


async def test_a_missing_chunk_number_is_a_validation_error(api: Api) -> None:
    ana, sid = await recording(api)
    response = await api.client.post(
        f"/sessions/{sid}/upload",
        files={"file": ("c.wav", tone(), "audio/wav")},
        headers=ana.headers,
    )
    assert response.status_code == 400
    negative = await put_chunk(api, ana, sid, -1, tone())
    assert negative.status_code in (400, 404)


# What each adversarial file of the shared data must get at upload (see its manifest.json).
ADVERSARIAL_UPLOADS = {
    "empty_0bytes.wav": 422,
    "header_only_0samples.wav": 422,
    "not_audio_text.wav": 422,
    "truncated_data.wav": 201,
    "mp3_data_named.wav": 201,
    "tiny_0.2s.wav": 201,
    "silence_60s.wav": 201,
    "white_noise_60s.wav": 201,
    "stereo_8k_dev_conv01.wav": 201,
    "very_quiet_-55dB_dev_conv02_30s.wav": 201,
    "clipped_hot_dev_conv02_30s.wav": 201,
    "float32_44k1_stereo_dev_conv02_15s.wav": 201,
}


async def test_each_adversarial_file_gets_its_expected_answer(
    settings: Settings, api_for: ApiFactory, shared_data: Path
) -> None:
    folder = shared_data / "dev" / "adversarial"
    manifest = {
        entry["file"] for entry in json.loads((folder / "manifest.json").read_text())["files"]
    }
    assert set(ADVERSARIAL_UPLOADS) <= manifest
    # A session per file: more sessions in a minute than the per-user limit lets a person start.
    async with api_for(settings.model_copy(update={"rate_limit_session_starts": "off"})) as api:
        ana = api.user("Ana")
        group = await api.group(ana)
        for name, expected in ADVERSARIAL_UPLOADS.items():
            sid = (await api.session(ana, group))["id"]
            response = await upload(api, ana, sid, 0, (folder / name).read_bytes(), name=name)
            assert response.status_code == expected, (name, response.text)
            if expected >= 400:
                assert response.json()["message"], name
                assert stored_blobs(api, sid) == [], name


async def test_the_31_minute_adversarial_mp3_is_one_chunk_of_its_full_length(
    api: Api, shared_data: Path
) -> None:
    folder = shared_data / "dev" / "adversarial"
    data = (folder / "long_30min.mp3").read_bytes()
    length = json.loads((folder / "long_30min.plan.json").read_text())["duration_s"]
    assert len(data) < api.settings.max_chunk_bytes  # 7.5 MB of 32 kbit/s under the 25 MB cap
    ana, sid = await recording(api)
    response = await upload(api, ana, sid, 0, data, name="long_30min.mp3", kind="audio/mpeg")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "audio/mpeg"
    assert response.json()["duration_seconds"] == pytest.approx(length, abs=1.0)
    assert [p.stat().st_size for p in stored_blobs(api, sid)] == [len(data)]
