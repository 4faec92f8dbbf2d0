"""A real HTTP receiver on a loopback port: it records what it is sent and answers as scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, post
from litestar.response import Response

from tests.api.conftest import serving


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """``answers``: the status of each answer in turn (200 once they run out); a 3xx redirects
    to ``/moved``. ``delay``: seconds to wait before answering."""

    base_url: str = ""
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    calls: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    def delivery_ids(self) -> list[str]:
        return [call.headers["x-lahstats-delivery"] for call in self.calls]


def receiver_app(receiver: Receiver) -> Litestar:
    @post(["/hook", "/moved"], status_code=200)
    async def hook(request: Request[Any, Any, Any]) -> Response[str]:
        receiver.calls.append(
            Received(request.url.path, dict(request.headers), await request.body())
        )
        receiver.arrived.set()
        if receiver.delay:
            await asyncio.sleep(receiver.delay)
        status = receiver.answers.pop(0) if receiver.answers else 200
        if 300 <= status < 400:
            return Response("", status_code=status, headers={"Location": "/moved"})
        return Response("ok" if status < 300 else "receiver says no", status_code=status)

    return Litestar(route_handlers=[hook], logging_config=None)


@asynccontextmanager
async def receiving(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    async with serving(receiver_app(receiver)) as client:
        receiver.base_url = str(client.base_url).rstrip("/")
        yield receiver
