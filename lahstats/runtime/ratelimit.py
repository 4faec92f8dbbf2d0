"""Per-user rate limits on what costs the service most: starting sessions and uploading chunks.

Each (action, user) pair is a GCRA bucket (the generic cell rate algorithm, a token bucket kept as
one timestamp, the "theoretical arrival time"): ``count`` requests per ``unit`` on average, with up
to ``burst`` of them at once. Two stores hold the timestamps: this process's memory (embedded
mode) or Redis (``LAHSTATS_REDIS_URL``), where every API process shares them through one atomic
script per check.

A limit must never take the service down with it: while Redis is unreachable every request is let
through (fail open), with one warning per outage, and uploads keep working (``/health`` reports
Redis). Clocks are the hosts' wall clocks: with Redis, skew between hosts shifts a limit by that
much, no more.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from lahstats.errors import RateLimited
from lahstats.settings import Rate, parse_rate

if TYPE_CHECKING:
    from lahstats.settings import Settings

log = structlog.get_logger(__name__)

# A check is refused only when it would have to wait longer than this (float noise, not time).
_EPSILON = 1e-6
# After a failed Redis call, requests skip Redis this long, so an outage that times out does not
# add a timeout to every request.
_REDIS_RETRY_SECONDS = 5.0


class Action(StrEnum):
    SESSION_START = "session_start"
    UPLOAD = "upload"


_WHAT = {Action.SESSION_START: "sessions started", Action.UPLOAD: "chunk uploads"}


class RateStore(Protocol):
    backend: str

    async def take(self, key: str, rate: Rate, now: float) -> float:
        """Counts one request under ``key``: 0 if it is allowed, else the seconds to wait.

        A refused request is not counted.
        """
        ...

    async def close(self) -> None: ...


def _gcra(tat: float | None, now: float, rate: Rate) -> tuple[float, float]:
    """(the key's next arrival time if allowed, seconds to wait if not)."""
    arrival = max(tat if tat is not None else now, now) + rate.interval
    return arrival, arrival - rate.burst * rate.interval - now


class MemoryRateStore:
    """This process's buckets. Idle keys (whose bucket is full again) are forgotten."""

    backend = "memory"

    def __init__(self, *, sweep_at: int = 1024) -> None:
        self._arrivals: dict[str, float] = {}
        self._min_sweep_at = sweep_at
        self._sweep_at = sweep_at

    def __len__(self) -> int:
        return len(self._arrivals)

    async def take(self, key: str, rate: Rate, now: float) -> float:
        arrival, wait = _gcra(self._arrivals.get(key), now, rate)
        if wait > _EPSILON:
            return wait
        self._arrivals[key] = arrival
        if len(self._arrivals) >= self._sweep_at:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # A key whose arrival time has passed is a full bucket, the same as no key. Sweeping when
        # the table has doubled keeps it within twice the users active lately, in O(1) amortized.
        self._arrivals = {key: at for key, at in self._arrivals.items() if at > now}
        self._sweep_at = max(self._min_sweep_at, 2 * len(self._arrivals))

    async def close(self) -> None:
        self._arrivals.clear()


# Times are integer milliseconds: Lua turns numbers into strings with 14 digits.
_GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local arrival = tat + interval
local wait = arrival - burst * interval - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', arrival), 'PX', string.format('%d', arrival - now))
return 0
"""


class RedisRateStore:
    """Buckets shared by every process on one Redis; keys expire once their bucket is full."""

    backend = "redis"

    def __init__(self, url: str, *, retry_seconds: float = _REDIS_RETRY_SECONDS) -> None:
        self.redis: Redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30
        )
        self._script = self.redis.register_script(_GCRA_SCRIPT)
        self.retry_seconds = retry_seconds
        self._down = False
        self._skip_until = 0.0

    async def take(self, key: str, rate: Rate, now: float) -> float:
        if self._down and time.monotonic() < self._skip_until:
            return 0.0
        interval_ms = max(1, round(rate.interval * 1000))
        try:
            wait_ms = await self._script(
                keys=[key], args=[math.floor(now * 1000), interval_ms, rate.burst]
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_until = time.monotonic() + self.retry_seconds
            if not self._down:
                self._down = True
                log.warning(
                    "rate limits off: Redis unreachable, letting requests through",
                    error=f"{type(exc).__name__}: {exc}",
                )
            return 0.0
        if self._down:
            self._down = False
            log.info("rate limits enforced again: Redis is back")
        return int(wait_ms) / 1000

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)


class RateLimiter:
    """Checks a user's request against the limit of its action; raises ``RateLimited`` over it."""

    def __init__(
        self,
        store: RateStore,
        rates: Mapping[Action, Rate | None],
        *,
        prefix: str = "lahstats:rate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.rates = dict(rates)
        self.prefix = prefix
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        rates = {
            Action.SESSION_START: parse_rate(
                settings.rate_limit_session_starts, burst=settings.rate_limit_session_starts_burst
            ),
            Action.UPLOAD: parse_rate(
                settings.rate_limit_uploads, burst=settings.rate_limit_uploads_burst
            ),
        }
        if settings.redis_url:
            # Beside the queue's keys: deployments that share a Redis keep their limits apart.
            return cls(
                RedisRateStore(settings.redis_url), rates, prefix=f"{settings.queue_name}:rate"
            )
        return cls(MemoryRateStore(), rates)

    async def check(self, action: Action, user_id: uuid.UUID) -> None:
        rate = self.rates.get(action)
        if rate is None:
            return
        wait = await self.store.take(f"{self.prefix}:{action}:{user_id}", rate, self.clock())
        if wait <= 0:
            return
        retry_after = max(1, math.ceil(wait - _EPSILON))
        raise RateLimited(
            f"too many {_WHAT[action]}: the limit is {rate} per user",
            retry_after=retry_after,
            hint=f"Wait {retry_after} s (the Retry-After header) and send the same request "
            "again; this one was not processed.",
        )

    async def close(self) -> None:
        await self.store.close()
