"""Blob stores: one contract, checked on the local directory and on a real S3 protocol server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from lahstats.errors import InvalidInput, NotFound, Unavailable
from lahstats.settings import Settings
from lahstats.storage.blobs import BlobStore, create_blob_store
from lahstats.storage.blobs.local import LocalBlobStore
from lahstats.storage.blobs.s3 import S3BlobStore
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP on loopback: boto3 speaks the wire protocol to it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _s3(endpoint: str, bucket: str) -> S3BlobStore:
    return S3BlobStore(
        bucket=bucket,
        endpoint_url=endpoint,
        access_key_id=SecretStr("test"),
        secret_access_key=SecretStr("test"),
    )


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        blob_store: BlobStore = LocalBlobStore(tmp_path / "blobs")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"lahstats-{uuid.uuid4().hex[:8]}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket=bucket)
        blob_store = _s3(endpoint, bucket)
    yield blob_store
    await blob_store.close()


async def test_put_get_delete_round_trip(store: BlobStore) -> None:
    key = "sessions/abc/chunks/000001.m4a"
    await store.put(key, b"\x00audio", content_type="audio/mp4")
    assert await store.exists(key)
    assert await store.get(key) == b"\x00audio"
    await store.put(key, b"again", content_type="audio/mp4")
    assert await store.get(key) == b"again"
    await store.delete(key)
    await store.delete(key)  # deleting what is gone is fine
    assert not await store.exists(key)
    with pytest.raises(NotFound):
        await store.get(key)


async def test_delete_prefix_removes_one_session_only(store: BlobStore) -> None:
    for n in range(3):
        await store.put(f"sessions/one/chunks/{n:06d}.wav", b"x", content_type="audio/wav")
    await store.put("sessions/two/chunks/000000.wav", b"y", content_type="audio/wav")
    assert await store.delete_prefix("sessions/one") == 3
    assert not await store.exists("sessions/one/chunks/000000.wav")
    assert await store.get("sessions/two/chunks/000000.wav") == b"y"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/abs/path",
        "sessions/../../x",
        "Sessions/Upper",
        "a//b",
        "",
        "a/" + "b" * 600,
    ],
    ids=["parent", "absolute", "climb", "upper-case", "empty-segment", "empty", "too-long"],
)
async def test_keys_that_could_escape_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        await store.put(key, b"x", content_type="audio/wav")


async def test_ping_names_the_store(store: BlobStore) -> None:
    assert await store.ping()


async def test_unwritable_local_directory_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(Unavailable, match="not writable"):
        await LocalBlobStore(blocker / "storage").ping()


async def test_missing_bucket_is_unavailable_with_a_hint(s3_endpoint: str) -> None:
    store = _s3(s3_endpoint, "no-such-bucket")
    with pytest.raises(Unavailable) as raised:
        await store.ping()
    assert "LAHSTATS_S3_BUCKET" in raised.value.hint
    await store.close()


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    local = create_blob_store(Settings(storage_dir=tmp_path / "b"))
    assert isinstance(local, LocalBlobStore)
    remote = create_blob_store(
        Settings(storage_backend="s3", s3_bucket="audio", s3_endpoint_url="http://127.0.0.1:9")
    )
    assert isinstance(remote, S3BlobStore)
    assert remote.bucket == "audio"
