"""What a webhook may point at: the URL's form, https in production, and no private hosts (SSRF)."""

from __future__ import annotations

import ipaddress

import pytest

from lahstats.errors import InvalidInput
from lahstats.settings import Settings
from lahstats.webhooks.urls import (
    MAX_URL_LENGTH,
    IPAddress,
    Resolver,
    allows_private_hosts,
    check_destination,
    target,
)

PUBLIC = ipaddress.ip_address("93.184.216.34")


def resolving_to(*addresses: str) -> Resolver:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolver


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_hosts": False})


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(update={"env": "production"})


async def test_a_plain_url_is_kept_trimmed(settings: Settings) -> None:
    url = "  http://localhost:8000/hooks/lahstats?team=kopi  "
    assert await check_destination(url, settings) == url.strip()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("ftp://example.com/hook", "http or https", id="ftp"),
        pytest.param("example.com/hook", "http or https", id="no-scheme"),
        pytest.param("http:///hook", "no host", id="no-host"),
        pytest.param("https://ana:pw@example.com/hook", "user name or password", id="credentials"),
        pytest.param("https://token@example.com/hook", "user name or password", id="user-only"),
        pytest.param("https://exa mple.com/hook", "spaces", id="space"),
        pytest.param("https://example.com/\x00", "control", id="control-char"),
        pytest.param("https://example.com:99999/", "not 1 to 65535", id="port-out-of-range"),
        pytest.param("https://example.com:abc/", "not a valid URL", id="bad-port"),
        pytest.param(
            "https://example.com/" + "a" * MAX_URL_LENGTH,
            f"over the limit of {MAX_URL_LENGTH}",
            id="too-long",
        ),
    ],
)
async def test_malformed_urls_are_refused_saying_why(
    settings: Settings, url: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await check_destination(url, settings)
    assert says in refused.value.message
    assert refused.value.hint != InvalidInput.default_hint


async def test_production_requires_https(production: Settings) -> None:
    with pytest.raises(InvalidInput, match="must use https"):
        await check_destination(
            "http://example.com/hook", production, resolver=resolving_to(str(PUBLIC))
        )
    assert (
        await check_destination(
            "https://example.com/hook", production, resolver=resolving_to(str(PUBLIC))
        )
        == "https://example.com/hook"
    )


def test_private_hosts_are_allowed_in_development_only_unless_set(
    settings: Settings, production: Settings
) -> None:
    assert allows_private_hosts(settings)
    assert not allows_private_hosts(production)
    assert allows_private_hosts(production.model_copy(update={"webhook_allow_private_hosts": True}))
    assert not allows_private_hosts(
        settings.model_copy(update={"webhook_allow_private_hosts": False})
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:8000/hook", id="loopback"),
        pytest.param("http://[::1]/hook", id="ipv6-loopback"),
        pytest.param("http://10.1.2.3/hook", id="private"),
        pytest.param("http://192.168.0.10/hook", id="home-network"),
        pytest.param("http://169.254.169.254/latest/meta-data", id="cloud-metadata"),
        pytest.param("http://[::ffff:127.0.0.1]/hook", id="ipv4-mapped"),
        pytest.param("http://0.0.0.0/hook", id="unspecified"),
        pytest.param("http://100.64.0.1/hook", id="carrier-nat"),
        pytest.param("http://localhost/hook", id="localhost-by-name"),
    ],
)
async def test_private_addresses_are_refused_when_not_allowed(strict: Settings, url: str) -> None:
    with pytest.raises(InvalidInput, match="private, loopback or link-local") as refused:
        await check_destination(url, strict)
    assert "LAHSTATS_WEBHOOK_ALLOW_PRIVATE_HOSTS" in refused.value.hint


async def test_a_name_with_any_private_address_is_refused(strict: Settings) -> None:
    mixed = resolving_to(str(PUBLIC), "10.0.0.7")
    with pytest.raises(InvalidInput, match=r"10\.0\.0\.7"):
        await check_destination("https://hooks.example.com/x", strict, resolver=mixed)


async def test_an_unresolvable_name_is_refused(strict: Settings) -> None:
    async def nowhere(host: str, port: int) -> list[IPAddress]:
        raise OSError("Name or service not known")

    with pytest.raises(InvalidInput, match="could not be resolved"):
        await check_destination("https://nowhere.invalid/x", strict, resolver=nowhere)


async def test_a_send_connects_to_the_address_that_was_checked(strict: Settings) -> None:
    # DNS rebinding: the name is resolved once, checked, and the request pinned to that address.
    pinned = await target(
        "https://hooks.example.com:8443/x?y=1", strict, resolver=resolving_to(str(PUBLIC))
    )
    assert pinned.url == f"https://{PUBLIC}:8443/x?y=1"
    assert pinned.headers == {"Host": "hooks.example.com:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}

    rebound = resolving_to("127.0.0.1")
    with pytest.raises(InvalidInput, match="private"):
        await target("https://hooks.example.com/x", strict, resolver=rebound)


async def test_without_the_check_a_send_goes_to_the_url_as_given(settings: Settings) -> None:
    plain = await target("http://127.0.0.1:9/hook", settings)
    assert (plain.url, plain.headers, plain.extensions) == ("http://127.0.0.1:9/hook", {}, {})
