"""Blobs as files under one directory. Writes are atomic (temporary file, then rename)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from lahstats.errors import NotFound, Unavailable
from lahstats.storage.blobs import validate_key


class LocalBlobStore:
    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no stored blob {key!r}") from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        path = self._path(prefix.rstrip("/"))

        def remove() -> int:
            if path.is_file():
                path.unlink()
                return 1
            if not path.is_dir():
                return 0
            count = sum(1 for item in path.rglob("*") if item.is_file())
            shutil.rmtree(path)
            return count

        return await asyncio.to_thread(remove)

    async def ping(self) -> str:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass

        try:
            await asyncio.to_thread(probe)
        except OSError as exc:
            raise Unavailable(
                f"storage directory {self.root} is not writable: {exc.strerror}",
                hint="Create the directory or set LAHSTATS_STORAGE_DIR to a writable path.",
            ) from exc
        return str(self.root)

    async def close(self) -> None:
        return None
