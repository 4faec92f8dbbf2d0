"""Blobs as files under one directory. Writes are atomic (temporary file, then rename).

A disk that cannot be written or read (full, read-only, a path that is no directory) raises
``Unavailable``, like an unreachable bucket: callers see a storage outage, never a bare OSError.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lahstats.errors import NotFound, Unavailable
from lahstats.storage.blobs import validate_key


@contextmanager
def _disk_errors(action: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise Unavailable(
            f"local storage could not {action}: {exc.strerror or type(exc).__name__}",
            hint="Check that LAHSTATS_STORAGE_DIR is a writable directory with free space "
            "(see /health).",
        ) from exc


class LocalBlobStore:
    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        with _disk_errors("write a file"):
            await asyncio.to_thread(self._write, path, data)

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
        with _disk_errors("read a file"):
            try:
                return await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                raise NotFound(f"no stored blob {key!r}") from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with _disk_errors("delete a file"):
            await asyncio.to_thread(path.unlink, missing_ok=True)

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

        with _disk_errors("delete files"):
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
