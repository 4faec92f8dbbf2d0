"""Blobs in an S3-compatible bucket (AWS S3, Supabase Storage's S3 endpoint, MinIO).

boto3 is synchronous, so every call runs in a worker thread. Timeouts and retries are short: a
storage outage must surface as an error, not hang a request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from lahstats.errors import NotFound, Unavailable
from lahstats.storage.blobs import validate_key

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

_DELETE_BATCH = 1000


class S3BlobStore:
    backend = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: SecretStr | None = None,
        secret_access_key: SecretStr | None = None,
        addressing_style: Literal["auto", "path", "virtual"] = "path",
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id.get_secret_value() if access_key_id else None,
            aws_secret_access_key=secret_access_key.get_secret_value()
            if secret_access_key
            else None,
            config=Config(
                connect_timeout=3,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": addressing_style},
            ),
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._client, method), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if "Key" in kwargs and code in {"NoSuchKey", "404", "NotFound"}:
                raise NotFound(f"no stored blob {kwargs['Key']!r}") from None
            if code in {"NoSuchBucket", "404", "NotFound"}:
                raise Unavailable(
                    f"bucket {self.bucket!r} does not exist",
                    hint="Create it, or set LAHSTATS_S3_BUCKET to an existing bucket.",
                ) from exc
            raise Unavailable(
                f"object storage refused {method}: {code or 'error'}",
                hint="Check LAHSTATS_S3_BUCKET, the endpoint and the access keys.",
            ) from exc
        except BotoCoreError as exc:
            raise Unavailable(
                f"object storage unreachable: {type(exc).__name__}",
                hint="Check LAHSTATS_S3_ENDPOINT_URL and the network.",
            ) from exc

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await self._call(
            "put_object",
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        response = await self._call("get_object", Bucket=self.bucket, Key=validate_key(key))
        body = response["Body"]
        try:
            return await asyncio.to_thread(body.read)
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=validate_key(key))
        except NotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=validate_key(key))

    async def delete_prefix(self, prefix: str) -> int:
        prefix = validate_key(prefix.rstrip("/")) + "/"
        deleted = 0
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call("list_objects_v2", **kwargs)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            for start in range(0, len(keys), _DELETE_BATCH):
                batch = keys[start : start + _DELETE_BATCH]
                await self._call(
                    "delete_objects", Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                deleted += len(batch)
            if not page.get("IsTruncated"):
                return deleted
            token = page.get("NextContinuationToken")

    async def ping(self) -> str:
        await self._call("head_bucket", Bucket=self.bucket)
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
