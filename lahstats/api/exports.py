"""``GET /sessions/{id}/export``: a processed session as a file to download."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, QueryParameter

from lahstats.api.deps import Caller, Exports
from lahstats.api.errors import error_responses
from lahstats.sessions.export import ExportFormat, filename, render


def parse_format(value: str) -> ExportFormat:
    """The format asked for; a 400 that lists the valid ones otherwise."""
    try:
        return ExportFormat(value.strip().lower())
    except ValueError:
        valid = ExportFormat.names()
        raise ValidationException(
            f"unknown export format {value!r}: use one of {', '.join(valid)}",
            extra={"format": value, "valid_formats": valid},
        ) from None


@dataclass
class ExportOperation(Operation):
    """Documents the 200 answer in each format's media type (Litestar names only one): a JSON
    document, or text."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if isinstance(answer, OpenAPIResponse):
            answer.content = {
                chosen.media_type: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT
                        if chosen is ExportFormat.JSON
                        else OpenAPIType.STRING
                    )
                )
                for chosen in ExportFormat
            }


class ExportController(Controller):
    path = "/sessions/{session_id:uuid}"
    tags = ["sessions"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/export",
        summary="Download the transcript, speakers and counts as json, csv, txt, srt or vtt",
        description="Only processed sessions (ready_for_claiming or completed) export; the CSV "
        "has one row per segment and no counts.",
        responses=error_responses(404, 409),
        operation_class=ExportOperation,
    )
    async def export(
        self,
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        exports: Exports,
        export_format: Annotated[
            str, QueryParameter(name="format", description="json, csv, txt, srt or vtt")
        ] = ExportFormat.JSON.value,
    ) -> Response[bytes]:
        chosen = parse_format(export_format)
        export = await exports.export(session_id, caller.user_id)
        return Response(
            render(export, chosen).encode(),
            media_type=chosen.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename(session_id, chosen)}"'
            },
        )
