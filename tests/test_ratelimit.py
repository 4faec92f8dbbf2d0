"""Rate limits: the GCRA on both stores (this process's memory and a real Redis) with a fake clock,
limits shared by two processes' limiters through Redis, failing open while Redis is down, and the
settings that configure them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from lahstats.errors import RateLimited
from lahstats.runtime import ratelimit
from lahstats.runtime.ratelimit import (
    Action,
    MemoryRateStore,
    RateLimiter,
    RateStore,
    RedisRateStore,
)
from lahstats.settings import Rate, Settings, parse_rate

ANA, BEN = uuid.uuid4(), uuid.uuid4()
START = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app's structlog config caches a logger on first use, after which capture_logs() cannot
    # see it; another test in the same run may have used this module's logger already.
    monkeypatch.setattr(ratelimit, "log", structlog.get_logger(ratelimit.__name__))


@pytest.fixture
def prefix() -> str:
    return f"lahstats:test:{uuid.uuid4().hex[:8]}:rate"


@pytest.fixture
async def redis_keys(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    """A client on the test Redis; this test's keys are deleted afterwards."""
    client = Redis.from_url(redis_url)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


StoreFactory = Callable[[], RateStore]


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None: this process's memory; else the test Redis (this test's keys deleted afterwards)."""
    if request.param == "memory":
        return None
    request.getfixturevalue("redis_keys")
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def new_store(store_url: str | None) -> AsyncIterator[StoreFactory]:
    """Makes stores of one backend; each Redis one is a process's own client on one server."""
    made: list[RateStore] = []

    def make() -> RateStore:
        store: RateStore = MemoryRateStore() if store_url is None else RedisRateStore(store_url)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


def limiter(
    store: RateStore,
    prefix: str,
    clock: Clock,
    *,
    uploads: str = "1/second",
    upload_burst: int = 3,
    starts: str = "20/hour",
    start_burst: int = 2,
) -> RateLimiter:
    rates = {
        Action.UPLOAD: parse_rate(uploads, burst=upload_burst),
        Action.SESSION_START: parse_rate(starts, burst=start_burst),
    }
    return RateLimiter(store, rates, prefix=prefix, clock=clock)


async def refused(limits: RateLimiter, action: Action, user: uuid.UUID) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        await limits.check(action, user)
    return caught.value


# ---- the algorithm, on both stores -------------------------------------------------------------


async def test_a_burst_passes_then_the_next_waits_retry_after_and_no_less(
    new_store: StoreFactory, prefix: str
) -> None:
    clock = Clock()
    limits = limiter(new_store(), prefix, clock, uploads="30/minute", upload_burst=3)
    for _ in range(3):
        await limits.check(Action.UPLOAD, ANA)
    clock.now += 0.5
    over = await refused(limits, Action.UPLOAD, ANA)
    assert over.retry_after == 2  # one request per 2 s, 0.5 s of it passed: 1.5 rounded up
    assert "too many chunk uploads" in over.message
    assert "30 per minute (bursts of 3)" in over.message
    assert "Retry-After" in over.hint

    clock.now += 1.4
    assert (await refused(limits, Action.UPLOAD, ANA)).retry_after == 1
    clock.now += 0.1
    await limits.check(Action.UPLOAD, ANA)
    await refused(limits, Action.UPLOAD, ANA)  # the refusals in between were not counted


async def test_after_the_burst_the_sustained_rate_holds(
    new_store: StoreFactory, prefix: str
) -> None:
    clock = Clock()
    limits = limiter(new_store(), prefix, clock, uploads="2/second", upload_burst=4)
    allowed = 0
    for _ in range(40):  # 10 s, a request every 0.25 s: twice the rate
        try:
            await limits.check(Action.UPLOAD, ANA)
            allowed += 1
        except RateLimited:
            pass
        clock.now += 0.25
    assert allowed == 4 + 2 * 10 - 1  # the burst, then 2 per second after the first interval


async def test_limits_are_per_user_and_per_action(new_store: StoreFactory, prefix: str) -> None:
    clock = Clock()
    limits = limiter(new_store(), prefix, clock, upload_burst=2, start_burst=1)
    for _ in range(2):
        await limits.check(Action.UPLOAD, ANA)
    await refused(limits, Action.UPLOAD, ANA)

    await limits.check(Action.UPLOAD, BEN)  # another user is not affected
    await limits.check(Action.SESSION_START, ANA)  # uploads do not eat session starts
    start = await refused(limits, Action.SESSION_START, ANA)
    assert "too many sessions started" in start.message
    assert start.retry_after == 180  # 20 per hour
    await limits.check(Action.UPLOAD, BEN)
    await refused(limits, Action.UPLOAD, BEN)


async def test_a_disabled_limit_never_refuses(new_store: StoreFactory, prefix: str) -> None:
    clock = Clock()
    limits = limiter(new_store(), prefix, clock, uploads="off", start_burst=1)
    for _ in range(500):
        await limits.check(Action.UPLOAD, ANA)
    await limits.check(Action.SESSION_START, ANA)
    await refused(limits, Action.SESSION_START, ANA)  # the other limit still holds


# ---- Redis: shared, expiring, failing open -----------------------------------------------------


async def test_two_processes_share_the_limit_through_redis(
    redis_url: str, redis_keys: Redis, prefix: str
) -> None:
    clock = Clock()
    first, second = RedisRateStore(redis_url), RedisRateStore(redis_url)
    try:
        one = limiter(first, prefix, clock, upload_burst=3)
        other = limiter(second, prefix, clock, upload_burst=3)
        await one.check(Action.UPLOAD, ANA)
        await other.check(Action.UPLOAD, ANA)
        await one.check(Action.UPLOAD, ANA)
        assert (await refused(other, Action.UPLOAD, ANA)).retry_after == 1
        clock.now += 1
        await other.check(Action.UPLOAD, ANA)
        await refused(one, Action.UPLOAD, ANA)
    finally:
        await first.close()
        await second.close()


async def test_redis_keys_expire_when_their_bucket_is_full_again(
    redis_url: str, redis_keys: Redis, prefix: str
) -> None:
    store = RedisRateStore(redis_url)
    try:
        limits = limiter(store, prefix, Clock(), starts="20/hour", start_burst=2)
        await limits.check(Action.SESSION_START, ANA)
        await limits.check(Action.SESSION_START, ANA)
    finally:
        await store.close()
    keys = [key async for key in redis_keys.scan_iter(match=f"{prefix}:*")]
    assert keys == [f"{prefix}:session_start:{ANA}".encode()]
    ttl_ms = await redis_keys.pttl(keys[0])
    assert 2 * 180_000 - 1_000 < ttl_ms <= 2 * 180_000  # two starts of 180 s each to refill


async def test_redis_down_fails_open_and_warns_once(dead_redis_url: str, prefix: str) -> None:
    store = RedisRateStore(dead_redis_url, retry_seconds=0)  # try Redis on every request
    limits = limiter(store, prefix, Clock(), upload_burst=1)
    try:
        with capture_logs() as logs:
            for _ in range(5):
                await limits.check(Action.UPLOAD, ANA)
    finally:
        await store.close()
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1
    assert "Redis unreachable" in warnings[0]["event"]
    assert "Error" in warnings[0]["error"]


async def test_an_outage_skips_redis_for_a_while_then_limits_return(
    redis_url: str, redis_keys: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisRateStore(redis_url, retry_seconds=60)
    limits = limiter(store, prefix, Clock(), upload_burst=1)
    calls = 0
    working = store._script

    async def down(**_: Any) -> Any:
        nonlocal calls
        calls += 1
        raise RedisConnectionError("Connection refused")

    try:
        with capture_logs() as logs:
            monkeypatch.setattr(store, "_script", down)
            for _ in range(3):
                await limits.check(Action.UPLOAD, ANA)
            assert calls == 1  # the others did not wait on a Redis known to be down
            monkeypatch.setattr(store, "_script", working)
            monkeypatch.setattr(store, "_skip_until", 0.0)  # the 60 s have passed
            await limits.check(Action.UPLOAD, ANA)
            await refused(limits, Action.UPLOAD, ANA)
    finally:
        await store.close()
    assert [entry["log_level"] for entry in logs] == ["warning", "info"]
    assert "Redis is back" in logs[1]["event"]


# ---- memory: bounded ---------------------------------------------------------------------------


async def test_memory_forgets_idle_users() -> None:
    store = MemoryRateStore(sweep_at=8)
    clock = Clock()
    limits = limiter(store, "rate", clock, uploads="1/second", upload_burst=2)
    for _ in range(100):  # a new user every 0.5 s, each idle again 1 s after their request
        await limits.check(Action.UPLOAD, uuid.uuid4())
        clock.now += 0.5
    assert len(store) < 8
    for _ in range(20):  # twenty users active at once are all remembered
        await limits.check(Action.UPLOAD, uuid.uuid4())
    assert len(store) >= 20


# ---- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60/minute", Rate(60, "minute", 5)),
        (" 20 / hours ", Rate(20, "hour", 5)),
        ("1/SECOND", Rate(1, "second", 5)),
        ("100/day", Rate(100, "day", 5)),
        ("off", None),
        ("OFF", None),
    ],
    ids=["minute", "spaces-plural", "upper-case", "day", "off", "off-upper"],
)
def test_rates_are_read_from_count_per_unit(text: str, expected: Rate | None) -> None:
    assert parse_rate(text, burst=5) == expected


@pytest.mark.parametrize(
    "text",
    ["60", "0/minute", "60/fortnight", "-1/hour", "60 per minute", "", "1.5/second"],
    ids=["no-unit", "zero", "unknown-unit", "negative", "words", "empty", "fraction"],
)
def test_a_bad_rate_is_refused_at_settings_load(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAHSTATS_RATE_LIMIT_UPLOADS", text)
    with pytest.raises(ValidationError, match=r"rate_limit_uploads[\s\S]*COUNT/UNIT"):
        Settings()


def test_a_burst_under_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="rate_limit_session_starts_burst"):
        Settings(rate_limit_session_starts_burst=0)


def test_the_defaults_allow_real_use() -> None:
    limits = RateLimiter.from_settings(Settings(env="test"))
    uploads = limits.rates[Action.UPLOAD]
    starts = limits.rates[Action.SESSION_START]
    assert uploads is not None
    assert starts is not None
    assert isinstance(limits.store, MemoryRateStore)
    assert uploads.interval <= 30 / 4  # a phone's 30 s chunks, with room for retries
    assert uploads.burst >= 12  # a page sending a dozen files at once
    assert starts.burst >= 5  # a few sessions a day, a few retries


def test_with_redis_the_limits_are_shared_under_the_queue_name(redis_url: str) -> None:
    settings = Settings(env="test", redis_url=redis_url, queue_name="lahstats:other")
    limits = RateLimiter.from_settings(settings)
    assert isinstance(limits.store, RedisRateStore)
    assert limits.prefix == "lahstats:other:rate"
