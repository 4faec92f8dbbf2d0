"""Health of each part the service depends on, for ``GET /health`` and ``lahstats doctor``.

Every check is bounded in time: a dead dependency makes health say so, never hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from lahstats import __version__
from lahstats.errors import LahstatsError, Unavailable
from lahstats.runtime.resources import Runtime
from lahstats.storage.migrations import current_revision, head_revision

CHECK_TIMEOUT_SECONDS = 3.0

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class PartHealth:
    name: str
    ok: bool
    backend: str
    detail: str
    fix: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Status
    version: str
    environment: str
    parts: list[PartHealth]

    @property
    def failing(self) -> list[str]:
        return [part.name for part in self.parts if not part.ok]


async def _bounded(
    name: str, backend: str, probe: Callable[[], Awaitable[str]], fix: str
) -> PartHealth:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            detail = await probe()
    except TimeoutError:
        return PartHealth(
            name, False, backend, f"no answer within {CHECK_TIMEOUT_SECONDS:g} s", fix
        )
    except LahstatsError as exc:
        return PartHealth(name, False, backend, exc.message, exc.hint)
    except Exception as exc:
        return PartHealth(name, False, backend, f"{type(exc).__name__}: {exc}", fix)
    return PartHealth(name, True, backend, detail)


async def check_database(runtime: Runtime) -> PartHealth:
    async def probe() -> str:
        return f"{await runtime.database.ping():.1f} ms"

    return await _bounded(
        "database", runtime.database.backend, probe, "Check LAHSTATS_DATABASE_URL and the server."
    )


async def check_migrations(runtime: Runtime) -> PartHealth:
    """Whether the database's schema is the one this code needs (asked of a reachable one)."""
    upgrade = "lahstats db upgrade"  # with this server's settings

    async def probe() -> str:
        head = head_revision()
        current = await current_revision(runtime.database.engine)
        if current != head:
            raise Unavailable(
                f"database at revision {current or 'none (no tables)'}, the code needs {head}: "
                "run `lahstats db upgrade`",
                hint=upgrade,
            )
        return f"at head {head}"

    return await _bounded("migrations", runtime.database.backend, probe, upgrade)


async def check_queue(runtime: Runtime) -> PartHealth:
    name = "redis" if runtime.queue.backend == "arq" else "queue"
    return await _bounded(
        name, runtime.queue.backend, runtime.queue.ping, "Start Redis or check LAHSTATS_REDIS_URL."
    )


async def check_storage(runtime: Runtime) -> PartHealth:
    return await _bounded(
        "storage",
        runtime.blobs.backend,
        runtime.blobs.ping,
        "Check the LAHSTATS_STORAGE_* settings.",
    )


def check_models(runtime: Runtime) -> PartHealth:
    missing = [m for m in runtime.models if not m.usable]
    roles = {
        m.role: {
            "backend": m.backend,
            "state": m.state,
            "version": m.version,
            "loaded": runtime.resources.models.loaded,  # in this process, by a job
            "detail": m.detail,
        }
        for m in runtime.models
    }
    extra: dict[str, object] = {"device": runtime.device, "roles": roles}
    if missing:
        first = missing[0]
        return PartHealth(
            "models",
            False,
            "configured",
            f"{first.role} {first.backend}: {first.detail}",
            first.fix,
            extra,
        )
    return PartHealth(
        "models", True, "configured", f"{len(roles)} roles on {runtime.device}", None, extra
    )


async def check_health(runtime: Runtime) -> HealthReport:
    parts = list(
        await asyncio.gather(check_database(runtime), check_queue(runtime), check_storage(runtime))
    )
    if parts[0].ok:  # an unreachable database has no revision to read
        parts.insert(1, await check_migrations(runtime))
    parts.append(check_models(runtime))
    status: Status = "ok"
    if any(not part.ok for part in parts):
        # Without the database, or without its tables, no request that reads or writes works.
        unusable = any(not p.ok for p in parts if p.name in ("database", "migrations"))
        status = "down" if unusable else "degraded"
    return HealthReport(status, __version__, runtime.settings.env.value, parts)
