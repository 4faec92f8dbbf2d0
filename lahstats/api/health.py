"""``GET /health``: 200 when every part works, 503 naming the parts that do not."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from lahstats.api.schemas import HealthOut, PartHealthOut
from lahstats.runtime.health import check_health
from lahstats.runtime.resources import Runtime


class HealthController(Controller):
    path = "/health"
    tags = ["system"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        summary="Health of the database, queue, storage and models",
        cache=False,
        responses={
            503: ResponseSpec(
                data_container=HealthOut,
                generate_examples=False,
                description="A part does not work: `failing` names it, its `fix` says what to do",
            )
        },
    )
    async def health(self, state: State) -> Response[HealthOut]:
        runtime: Runtime = state.runtime
        report = await check_health(runtime)
        body = HealthOut(
            status=report.status,
            version=report.version,
            environment=report.environment,
            failing=report.failing,
            checks={
                part.name: PartHealthOut(
                    ok=part.ok,
                    backend=part.backend,
                    detail=part.detail,
                    fix=part.fix,
                    device=part.extra.get("device"),  # type: ignore[arg-type]
                    roles=part.extra.get("roles"),  # type: ignore[arg-type]
                )
                for part in report.parts
            },
        )
        return Response(body, status_code=200 if report.status == "ok" else 503)
