"""A model hub on 127.0.0.1 that answers the requests huggingface_hub 2.x makes to download.

``snapshot_download`` asks ``GET /api/models/{repo}/revision/{rev}`` for the commit, ``GET
/api/models/{repo}/tree/{commit}?recursive=True`` for the files, then ``HEAD`` and ``GET
/{repo}/resolve/{commit}/{path}`` for each file (``X-Repo-Commit``, ``ETag``, ``Content-Length``).
Repos live in memory; like the real hub, a gated repo's metadata and file list are public and its
files answer 401 without a token and 403 with one that has not been granted access (both
``X-Error-Code: GatedRepo``). Every request is recorded, with the token it carried, so tests can
say which requests were made and which were not.

In-process huggingface_hub reads its endpoint at import (``constants.ENDPOINT`` and
``HUGGINGFACE_CO_URL_TEMPLATE``): ``serving`` / ``point_hub_at`` patch both (and its cache, token
and telemetry); a subprocess gets ``hub_environment``'s ``HF_ENDPOINT`` and ``HF_HOME``.
``outage`` answers every request with one status, as a proxy or a hub that is down does;
``black_hole`` is an address whose connections are never answered.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the hub answered."""

    method: str
    path: str  # without the query
    token: str | None

    @property
    def authorized(self) -> bool:
        return self.token is not None


@dataclass
class FakeRepo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> path -> bytes
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> sha
    gated: bool = False
    granted: frozenset[str] = frozenset()  # tokens whose account accepted the conditions


def blob_id(data: bytes) -> str:
    """The git blob id, as the hub gives it for a file (``oid``, ``ETag``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def commit_id(repo: str, revision: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha1(f"{repo}@{revision}".encode(), usedforsecurity=False)
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + blob_id(files[path]).encode())
    return digest.hexdigest()


class FakeHub:
    """The hub's state and its server; ``url`` once started."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.seen: list[Seen] = []
        # Set: every request gets this status and no hub headers, like a proxy or an outage.
        self.outage: int | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def add(
        self,
        repo: str,
        files: dict[str, bytes],
        *,
        revision: str = "main",
        gated: bool = False,
        granted: tuple[str, ...] = (),
    ) -> str:
        """Put ``files`` at ``revision`` of ``repo`` (created when new); returns the commit."""
        found = self.repos.setdefault(repo, FakeRepo())
        found.gated = found.gated or gated
        found.granted = found.granted | frozenset(granted)
        sha = commit_id(repo, revision, files)
        found.commits[sha] = dict(files)
        found.refs[revision] = sha
        return sha

    def requests(self, prefix: str = "") -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.path.startswith(prefix)]

    def forget(self) -> None:
        with self._lock:
            self.seen.clear()

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: from now on a connection is refused, as with a hub that is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    server_version = "FakeHub/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read `FakeHub.seen`, not stderr

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    # -- routing

    def _answer(self, *, body: bool) -> None:
        path = urlsplit(self.path).path
        authorization = self.headers.get("Authorization") or ""
        token = authorization.removeprefix("Bearer ").strip() or None
        self.fake.record(Seen(self.command, path, token))
        if self.fake.outage is not None:
            self.send_response(self.fake.outage)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = "/".join(parts[2:4])
            rest = parts[4:]
            if not rest:
                self._info(repo, "main", body=body)
            elif rest[0] == "revision" and len(rest) == 2:
                self._info(repo, rest[1], body=body)
            elif rest[0] == "tree" and len(rest) >= 2:
                self._tree(repo, rest[1], "/".join(rest[2:]), body=body)
            else:
                self._error(404, "NotFound", "no such API route", body=body)
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), token, body=body)
        else:
            self._error(404, "NotFound", "no such route", body=body)

    def _repo(self, repo: str, revision: str, *, body: bool) -> tuple[str, dict[str, bytes]] | None:
        found = self.fake.repos.get(repo)
        if found is None:
            self._error(404, "RepoNotFound", "Repository not found", body=body)
            return None
        sha = found.refs.get(revision, revision if revision in found.commits else None)
        if sha is None:
            self._error(404, "RevisionNotFound", "Invalid rev id: " + revision, body=body)
            return None
        return sha, found.commits[sha]

    def _info(self, repo: str, revision: str, *, body: bool) -> None:
        resolved = self._repo(repo, revision, body=body)
        if resolved is None:
            return
        sha, files = resolved
        gated = "manual" if self.fake.repos[repo].gated else False
        info = {
            "id": repo,
            "modelId": repo,
            "sha": sha,
            "private": False,
            "gated": gated,
            "siblings": [{"rfilename": path} for path in sorted(files)],
        }
        self._json(info, body=body)

    def _tree(self, repo: str, revision: str, under: str, *, body: bool) -> None:
        resolved = self._repo(repo, revision, body=body)
        if resolved is None:
            return
        _sha, files = resolved
        prefix = f"{under}/" if under else ""
        entries: list[dict[str, Any]] = []
        folders: set[str] = set()
        for path in sorted(files):
            if not path.startswith(prefix):
                continue
            *dirs, _name = path.split("/")
            for depth in range(1, len(dirs) + 1):
                folder = "/".join(dirs[:depth])
                if folder.startswith(prefix) and folder not in folders:
                    folders.add(folder)
                    entries.append(
                        {
                            "type": "directory",
                            "oid": blob_id(folder.encode()),
                            "size": 0,
                            "path": folder,
                        }
                    )
            data = files[path]
            entries.append({"type": "file", "oid": blob_id(data), "size": len(data), "path": path})
        self._json(entries, body=body)

    def _resolve(
        self, repo: str, revision: str, path: str, token: str | None, *, body: bool
    ) -> None:
        resolved = self._repo(repo, revision, body=body)
        if resolved is None:
            return
        sha, files = resolved
        found = self.fake.repos[repo]
        if found.gated and token is None:
            self._error(401, "GatedRepo", "Access to this model is restricted", body=body)
            return
        if found.gated and token not in found.granted:
            self._error(
                403,
                "GatedRepo",
                "Access to this model is restricted and you are not in the authorized list",
                body=body,
            )
            return
        if path not in files:
            self._error(404, "EntryNotFound", "Entry not found", body=body, commit=sha)
            return
        data = files[path]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{blob_id(data)}"')
        self.send_header("X-Repo-Commit", sha)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.wfile.write(data)

    # -- responses

    def _json(self, value: Any, *, body: bool) -> None:
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        *,
        body: bool,
        commit: str | None = None,
    ) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if commit is not None:
            self.send_header("X-Repo-Commit", commit)
        self.end_headers()
        if body:
            self.wfile.write(data)


def point_hub_at(monkeypatch: pytest.MonkeyPatch, endpoint: str, home: Path) -> None:
    """Make this process's huggingface_hub talk to ``endpoint``, with its cache and login under
    ``home``, no token of the machine's own (``HF_TOKEN``, a saved login) and no telemetry
    request of its own."""
    from huggingface_hub import constants

    endpoint = endpoint.rstrip("/")
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)


def hub_environment(endpoint: str, home: Path) -> dict[str, str]:
    """The same for a subprocess: what to add to its environment."""
    return {"HF_ENDPOINT": endpoint, "HF_HOME": str(home), "HF_HUB_OFFLINE": "0"}


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[FakeHub]:
    """A started hub that this process's huggingface_hub talks to; stopped afterwards."""
    hub = FakeHub().start()
    try:
        point_hub_at(monkeypatch, hub.url, home)
        yield hub
    finally:
        hub.stop()


@contextmanager
def black_hole() -> Iterator[str]:
    """An endpoint where a TCP connection is never answered: a port whose one-slot backlog is
    already taken, so the kernel drops further SYNs (as a firewall that drops packets does)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        filler.close()
        listener.close()
