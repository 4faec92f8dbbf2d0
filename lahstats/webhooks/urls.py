"""Where a webhook may point: checked when it is registered and again before every send (SSRF).

A URL is http(s), at most 2048 characters, without credentials, and https in production. Unless
private hosts are allowed (by default in development and test only; setting
``LAHSTATS_WEBHOOK_ALLOW_PRIVATE_HOSTS`` decides), every address its host resolves to must be
public, and the send connects to the very address that was checked: DNS may answer otherwise a
second later (rebinding), so a check at registration alone proves nothing. URLs are parsed by
httpx, the parser that sends, so the check and the request never read one URL two ways. This
module sends nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from lahstats.errors import InvalidInput
from lahstats.settings import Environment, Settings

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_FORMAT_HINT = "Send an absolute URL such as https://example.com/hooks/lahstats."
_PRIVATE_HINT = (
    "Use a host on the public internet; internal addresses are refused so that a webhook cannot "
    "reach the server's own network (LAHSTATS_WEBHOOK_ALLOW_PRIVATE_HOSTS=true lifts this)."
)


@dataclass(frozen=True, slots=True)
class Target:
    """What to send a request to: the URL (perhaps pinned to an address) and what pinning needs."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def allows_private_hosts(settings: Settings) -> bool:
    """The setting if given; else allowed in development and test, refused in production."""
    if settings.webhook_allow_private_hosts is not None:
        return settings.webhook_allow_private_hosts
    return settings.is_development


def checked_url(url: str, settings: Settings) -> httpx.URL:
    """The parsed URL if its form is acceptable; ``InvalidInput`` saying what is wrong if not."""
    url = url.strip()
    if not url:
        raise InvalidInput("the webhook url is empty", hint=_FORMAT_HINT)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            f"the webhook url has {len(url)} characters, over the limit of {MAX_URL_LENGTH}",
            hint="Use a shorter URL; put long tokens in your receiver, not in the URL.",
        )
    if any(char.isspace() or not char.isprintable() for char in url):
        raise InvalidInput(
            "the webhook url contains spaces or control characters", hint=_FORMAT_HINT
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidInput(f"the webhook url is not a valid URL: {exc}", hint=_FORMAT_HINT) from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(
            f"the webhook url must use http or https, not {parsed.scheme or 'no scheme'!r}",
            hint=_FORMAT_HINT,
        )
    if not parsed.host:
        raise InvalidInput("the webhook url has no host", hint=_FORMAT_HINT)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidInput(
            f"the webhook url's port {parsed.port} is not 1 to 65535", hint=_FORMAT_HINT
        )
    if parsed.userinfo:
        raise InvalidInput(
            "the webhook url must not contain a user name or password",
            hint="Remove the credentials; every request is signed with the webhook's secret "
            "(X-LahStats-Signature), which is how your receiver knows it is us.",
        )
    if settings.env == Environment.PRODUCTION and parsed.scheme != "https":
        raise InvalidInput(
            "the webhook url must use https",
            hint="Serve your receiver over TLS and register its https:// URL.",
        )
    return parsed


async def check_destination(
    url: str, settings: Settings, *, resolver: Resolver | None = None
) -> str:
    """The URL to store (trimmed) if it may be registered; ``InvalidInput`` otherwise."""
    parsed = checked_url(url, settings)
    if not allows_private_hosts(settings):
        await public_addresses(parsed, resolver=resolver or resolve)
    return url.strip()


async def target(url: str, settings: Settings, *, resolver: Resolver | None = None) -> Target:
    """Where to send a delivery now; pinned to a checked public address unless private is fine."""
    parsed = checked_url(url, settings)
    if allows_private_hosts(settings):
        return Target(url=str(parsed))
    address = (await public_addresses(parsed, resolver=resolver or resolve))[0]
    return Target(
        url=str(parsed.copy_with(host=str(address))),
        # The name still goes in the Host header, and in TLS, where the certificate is checked.
        headers={"Host": parsed.netloc.decode("ascii")},
        extensions={"sni_hostname": parsed.raw_host.decode("ascii")}
        if parsed.scheme == "https"
        else {},
    )


async def public_addresses(parsed: httpx.URL, *, resolver: Resolver) -> list[IPAddress]:
    """Every address of the URL's host, all public; ``InvalidInput`` if any is not."""
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:
            raise InvalidInput(
                f"the webhook host {host!r} could not be resolved",
                hint="Check the host name; it must resolve in public DNS.",
            ) from exc
    if not addresses:
        raise InvalidInput(f"the webhook host {host!r} has no address", hint=_PRIVATE_HINT)
    for address in addresses:
        if not is_public(address):
            raise InvalidInput(
                f"the webhook host {host!r} resolves to a private, loopback or link-local "
                f"address ({address})",
                hint=_PRIVATE_HINT,
            )
    return addresses


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, from the system resolver, without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found
