"""Blob storage failing under a chunk upload: a clear 503, nothing recorded, and a retry stores it.

Two real failures: the local storage directory replaced by a plain file (every write fails, root
included), and the S3 server (moto, speaking the wire protocol on loopback) stopped and started
again on the same port. The upload must not leave a chunk row without its audio, the session must
still be recording, and sending the same chunk again once storage is back must store it (201).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from lahstats.settings import Settings
from lahstats.storage.repositories import ChunkRepository
from tests.api.audio import tone
from tests.api.conftest import Api
from tests.conftest import free_port
from tests.faults.conftest import open_api, status_of


@dataclass
class S3Server:
    """moto's S3 server on a fixed port, so it can stop and come back where clients expect it."""

    port: int
    server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class Outage:
    """Breaks and mends one storage backend under the app."""

    def __init__(self, settings: Settings, s3: S3Server | None) -> None:
        self.settings = settings
        self.s3 = s3

    def start(self) -> None:
        if self.s3 is not None:
            self.s3.stop()
            return
        root = self.settings.resolved_storage_dir
        shutil.move(root, root.with_name("storage-away"))
        root.write_bytes(b"not a directory")  # mkdir and every write below it now fail

    def end(self) -> None:
        if self.s3 is not None:
            self.s3.start()
            return
        root = self.settings.resolved_storage_dir
        root.unlink()
        shutil.move(root.with_name("storage-away"), root)


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    server = S3Server(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
async def outage_api(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Api, Outage]]:
    s3: S3Server | None = None
    if request.param == "local":
        settings = settings.model_copy(update={"storage_dir": tmp_path / "storage"})
    else:
        s3 = request.getfixturevalue("s3_server")
        bucket = f"lahstats-{uuid.uuid4().hex[:8]}"
        boto3.client(
            "s3",
            endpoint_url=s3.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket=bucket)
        settings = settings.model_copy(
            update={
                "storage_backend": "s3",
                "s3_bucket": bucket,
                "s3_endpoint_url": s3.url,
                "s3_access_key_id": SecretStr("test"),
                "s3_secret_access_key": SecretStr("test"),
            }
        )
    async with open_api(settings, workers=False) as api:
        yield api, Outage(settings, s3)


async def test_an_upload_storage_cannot_take_is_a_clear_503_and_a_retry_stores_it(
    outage_api: tuple[Api, Outage],
) -> None:
    api, outage = outage_api
    owner = api.user("Ana")
    sid = (await api.session(owner, await api.group(owner)))["id"]
    audio = tone(1.0, fmt="FLAC")
    headers = {**owner.headers, "Content-Type": "audio/flac"}
    first = await api.client.put(f"/sessions/{sid}/chunks/0", content=audio, headers=headers)
    assert first.status_code == 201, first.text

    outage.start()
    try:
        failed = await api.client.put(f"/sessions/{sid}/chunks/1", content=audio, headers=headers)
        health = await api.client.get("/health")
    finally:
        outage.end()

    assert failed.status_code == 503, failed.text
    body = failed.json()
    assert body["error"] == "unavailable"
    assert body["message"].startswith("chunk 1 was not stored: ")
    assert "storage" in body["message"]
    assert "send the same chunk again" in body["hint"]
    assert health.status_code == 503
    assert health.json()["failing"] == ["storage"]
    async with api.runtime.database.session() as db:
        stored = await ChunkRepository(db).list_for_session(uuid.UUID(sid))
    assert [chunk.chunk_number for chunk in stored] == [0]  # no row without its audio
    assert (await status_of(api, owner, sid))["status"] == "recording"

    retried = await api.client.put(f"/sessions/{sid}/chunks/1", content=audio, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["created"] is True
    blob_key = f"sessions/{sid}/chunks/"
    async with api.runtime.database.session() as db:
        stored = await ChunkRepository(db).list_for_session(uuid.UUID(sid))
    assert [chunk.chunk_number for chunk in stored] == [0, 1]
    assert all(chunk.storage_key.startswith(blob_key) for chunk in stored)
    for chunk in stored:
        assert await api.runtime.blobs.get(chunk.storage_key) == audio
