"""The try-it page (``/``, ``/static/``) and the development sign-in (``POST /dev/token``).

The page must work offline (nothing from another origin), under a strict Content-Security-Policy
(no inline script or style), without a token; ``/dev/token`` must make working tokens in
development only; and opening ``/`` to everyone must not open any other route.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from lahstats.api.web import DEV_TOKEN_DAYS, WEB_DIR
from lahstats.auth.tokens import user_id_for_email
from lahstats.settings import Environment, Settings
from tests.api.conftest import ClientFactory

PAGE_SCRIPT = '<script type="module" src="/static/app.js">'
ERROR_KEYS = {"status_code", "error", "message", "hint", "request_id"}


@pytest.fixture
async def client(settings: Settings, client_for: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as opened:
        yield opened


@pytest.fixture
def production(settings: Settings) -> Settings:
    """What ``check_ready`` takes in production: a long, random-looking JWT secret."""
    ready = settings.model_copy(
        update={
            "env": Environment.PRODUCTION,
            "jwt_secret": SecretStr("k7Qp2vX9mR4tL8wZ1cN6bY3hJ5dF0gS2aE7uK9pV"),
        }
    )
    assert ready.problems() == []
    assert not ready.is_development
    return ready


def _assert_page_headers(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    directives = [part.strip() for part in policy.split(";")]
    assert "default-src 'self'" in directives
    assert "script-src 'self'" in directives
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "no-cache" in response.headers["cache-control"]


async def _get_raw(client: httpx.AsyncClient, raw_path: bytes) -> httpx.Response:
    """GET with the path sent byte for byte (httpx would otherwise normalise it)."""
    request = client.build_request("GET", "/")
    request.url = request.url.copy_with(raw_path=raw_path)
    assert request.url.raw_path == raw_path
    return await client.send(request)


# ---- the page ---------------------------------------------------------------------------------


async def test_the_page_is_served_without_a_token_with_its_security_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert PAGE_SCRIPT in response.text
    assert response.text == (WEB_DIR / "index.html").read_text(encoding="utf-8")
    _assert_page_headers(response)


async def test_the_page_is_served_in_production_too(
    production: Settings, client_for: ClientFactory
) -> None:
    async with client_for(production) as client:
        response = await client.get("/")
    assert response.status_code == 200, response.text
    assert PAGE_SCRIPT in response.text
    _assert_page_headers(response)


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("app.js", "javascript"), ("app.css", "text/css")],
)
async def test_static_files_are_served_without_a_token_with_the_page_headers(
    client: httpx.AsyncClient, name: str, media_type: str
) -> None:
    response = await client.get(f"/static/{name}")
    assert response.status_code == 200, response.text
    assert media_type in response.headers["content-type"]
    assert response.content == (WEB_DIR / name).read_bytes()
    _assert_page_headers(response)


@pytest.mark.parametrize("path", ["/", "/static/app.js"])
async def test_an_unchanged_page_file_answers_304_to_its_etag(
    client: httpx.AsyncClient, path: str
) -> None:
    first = await client.get(path)
    assert first.status_code == 200, first.text
    etag = first.headers.get("etag")
    assert etag
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get(path, headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200
    assert changed.content == first.content


async def test_an_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/nope.js")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404


@pytest.mark.parametrize(
    ("raw_path", "target"),
    [
        (b"/static/..%2fapi%2fweb.py", "../api/web.py"),
        (b"/static/%2e%2e/settings.py", "../settings.py"),
        (b"/static/%2e%2e%2fsettings.py", "../settings.py"),
        (b"/static/..%2f..%2flahstats%2fsettings.py", "../../lahstats/settings.py"),
        (b"/static/%2E%2E%2F%2E%2E%2Fpyproject.toml", "../../pyproject.toml"),
    ],
)
async def test_encoded_traversal_out_of_the_web_folder_returns_no_source(
    client: httpx.AsyncClient, raw_path: bytes, target: str
) -> None:
    assert (WEB_DIR / target).resolve().is_file()  # there is something to leak
    response = await _get_raw(client, raw_path)
    assert response.status_code in {400, 404}, response.text
    assert "import" not in response.text
    assert "[project]" not in response.text


# ---- offline and CSP-clean --------------------------------------------------------------------


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.styled: list[str] = []  # tags with a style= attribute
        self.handlers: list[tuple[str, str]] = []  # (tag, on...=) inline event handlers
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "formaction", "poster", "data"}:
                self.urls.append((tag, name, value or ""))
            if name == "style":
                self.styled.append(tag)
            if name.startswith("on"):
                self.handlers.append((tag, name))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _parsed_page() -> _PageParser:
    parser = _PageParser()
    parser.feed((WEB_DIR / "index.html").read_text(encoding="utf-8"))
    parser.close()
    return parser


def _same_origin(url: str) -> bool:
    return (url.startswith("/") and not url.startswith("//")) or url.startswith(("data:", "#"))


def test_the_page_links_only_to_its_own_origin() -> None:
    page = _parsed_page()
    assert ("script", "src", "/static/app.js") in page.urls
    assert ("link", "href", "/static/app.css") in page.urls
    foreign = [(tag, name, url) for tag, name, url in page.urls if not _same_origin(url)]
    assert foreign == []


def test_the_page_has_no_inline_script_style_or_handlers() -> None:
    page = _parsed_page()
    assert page.inline_scripts == []
    assert page.styled == []
    assert page.handlers == []
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    assert "<style" not in html.lower()
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("name", ["app.js", "app.css"])
def test_scripts_and_styles_fetch_nothing_from_another_origin(name: str) -> None:
    text = (WEB_DIR / name).read_text(encoding="utf-8")
    assert re.findall(r"https?://\S*", text) == []
    assert re.findall(r"[\"'`(]\s*//[\w.-]", text) == []  # protocol-relative URLs
    imported = re.findall(r"""\bimport\s*\(\s*["'`]([^"'`]*)""", text)
    imported += re.findall(r"""\bfrom\s+["']([^"']*)["']""", text)
    imported += re.findall(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]*)""", text)
    assert [url for url in imported if not url.startswith(("/", "./", "../"))] == []
    css_urls = re.findall(r"""url\(\s*["']?([^"')]*)""", text)
    assert [url for url in css_urls if not _same_origin(url)] == []


# ---- POST /dev/token --------------------------------------------------------------------------


@pytest.mark.parametrize("env", [Environment.TEST, Environment.DEVELOPMENT])
async def test_a_development_token_signs_in_the_user_it_names(
    settings: Settings, client_for: ClientFactory, env: Environment
) -> None:
    development = settings.model_copy(update={"env": env})
    assert development.is_development
    async with client_for(development) as client:
        before = datetime.now(UTC)
        made = await client.post("/dev/token", json={"email": "mei@example.com", "name": "Mei"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert set(body) == {"token", "user_id", "expires_at"}
        assert body["user_id"] == str(user_id_for_email("mei@example.com"))
        expires = datetime.fromisoformat(body["expires_at"])
        lifetime = timedelta(days=DEV_TOKEN_DAYS)
        assert before + lifetime - timedelta(seconds=5) <= expires
        assert expires <= datetime.now(UTC) + lifetime + timedelta(seconds=5)

        me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert me.status_code == 200, me.text
        assert me.json() == {
            "id": body["user_id"],
            "email": "mei@example.com",
            "display_name": "Mei",
        }


async def test_the_same_email_is_the_same_user_every_time(client: httpx.AsyncClient) -> None:
    first = await client.post("/dev/token", json={"email": "ben@example.com"})
    second = await client.post("/dev/token", json={"email": "ben@example.com", "name": "Ben"})
    other = await client.post("/dev/token", json={"email": "ana@example.com"})
    assert first.status_code == second.status_code == other.status_code == 201
    assert first.json()["user_id"] == second.json()["user_id"]
    assert other.json()["user_id"] != first.json()["user_id"]
    for made in (first, second):
        token = made.json()["token"]
        me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["id"] == first.json()["user_id"]


@pytest.mark.parametrize(
    "content",
    [
        b'{"email": "mei.example.com"}',
        b'{"email": ""}',
        b'{"email": "@"}',
        b'{"email": "mei@example.com", "name": ""}',
        b"{}",
        b"",
    ],
    ids=["no-at", "empty-email", "only-at", "empty-name", "no-email", "empty-body"],
)
async def test_a_bad_sign_in_body_is_400_with_the_error_shape(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/dev/token", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert body["status_code"] == 400
    assert body["message"]
    assert body["hint"]
    assert "token" not in body


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"email=mei%40example.com"),
        ("text/plain", b'{"email": "mei@example.com"}'),
    ],
)
async def test_a_sign_in_body_that_is_not_json_is_415(
    client: httpx.AsyncClient, content_type: str, content: bytes
) -> None:
    response = await client.post(
        "/dev/token", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 415, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert body["status_code"] == 415
    assert "token" not in body


async def test_development_sign_in_is_404_in_production(
    production: Settings, client_for: ClientFactory
) -> None:
    async with client_for(production) as client:
        response = await client.post("/dev/token", json={"email": "mei@example.com"})
    assert response.status_code == 404, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert "development sign-in is disabled outside development" in body["message"]
    assert body["hint"]
    assert "token" not in body
    assert "eyJ" not in response.text  # no JWT anywhere in the answer


# ---- the schema and the public paths ----------------------------------------------------------


async def test_the_page_is_not_in_the_schema_but_dev_token_is(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    paths: dict[str, Any] = response.json()["paths"]
    assert "/" not in paths
    assert [path for path in paths if path.startswith("/static")] == []
    assert "post" in paths["/dev/token"]
    assert "/groups" in paths  # the schema does list the API


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/groups"),
        ("GET", "/groups/"),
        ("GET", "/sessions"),
        ("GET", "/sessions/"),
        ("GET", "/users/me"),
        ("GET", "/users/me/wrapped"),
        ("GET", "/groups/00000000-0000-0000-0000-000000000001/words"),
        ("POST", "/groups"),
        ("POST", "/sessions/start"),
    ],
)
async def test_every_other_route_still_needs_a_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
