"""Blob storage for audio chunks and speaker samples, behind one small interface.

Keys are built by the service (``sessions/<uuid>/chunks/000003.m4a``), never from names users send;
``validate_key`` refuses anything else, so no key can climb out of its store.
"""

from __future__ import annotations

import re
from typing import Protocol

from lahstats.errors import ConfigurationError, InvalidInput
from lahstats.settings import Settings

_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-.]*)*$")
_MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    if len(key) > _MAX_KEY_LENGTH or not _KEY.match(key) or ".." in key:
        raise InvalidInput(
            f"invalid storage key {key[:80]!r}",
            hint="Storage keys are made by the service: lower-case segments without '..'.",
        )
    return key


class BlobStore(Protocol):
    """What every backend offers. All methods are coroutines and never block the event loop."""

    backend: str

    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...  # raises NotFound

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...  # absent keys are fine

    async def delete_prefix(self, prefix: str) -> int: ...

    async def ping(self) -> str:  # raises Unavailable; returns a short description
        ...

    async def close(self) -> None: ...


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.storage_backend == "local":
        from lahstats.storage.blobs.local import LocalBlobStore

        return LocalBlobStore(settings.resolved_storage_dir)
    if not settings.s3_bucket:
        raise ConfigurationError(
            "LAHSTATS_STORAGE_BACKEND=s3 needs a bucket", hint="Set LAHSTATS_S3_BUCKET."
        )
    from lahstats.storage.blobs.s3 import S3BlobStore

    return S3BlobStore(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        addressing_style=settings.s3_addressing_style,
    )
