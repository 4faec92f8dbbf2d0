"""``lahstats export``: a processed session as a file, from the command line.

An operator's tool: it reads the database the settings name and checks no membership (whoever can
run it can read the database anyway). The bytes are the API's (``sessions.export``).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import click

from lahstats.errors import LahstatsError
from lahstats.sessions.export import ExportFormat, render
from lahstats.settings import Settings, get_settings


async def export_text(
    settings: Settings, session_id: uuid.UUID, export_format: ExportFormat
) -> str:
    # Imported here: the database layer is not worth loading for every other command's start.
    from lahstats.sessions.export_view import load_export
    from lahstats.storage.database import Database

    database = Database(settings.resolved_database_url, pool_size=1)
    try:
        async with database.session() as db:
            return render(await load_export(db, session_id, user_id=None), export_format)
    finally:
        await database.dispose()


@click.command("export")
@click.argument("session_id", type=click.UUID)
@click.option(
    "--format",
    "export_format",
    type=click.Choice(ExportFormat.names(), case_sensitive=False),
    default=ExportFormat.JSON.value,
    show_default=True,
    help="json (everything), csv (one row per segment), txt (transcript + counts), srt or vtt.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the file here instead of to stdout.",
)
def export(session_id: uuid.UUID, export_format: str, output: Path | None) -> None:
    """Export processed session SESSION_ID: transcript with speaker names, and word counts."""
    from sqlalchemy.exc import SQLAlchemyError

    settings = get_settings()
    try:
        text = asyncio.run(export_text(settings, session_id, ExportFormat(export_format.lower())))
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the {settings.database_backend} database ({type(exc).__name__}): "
            "run `lahstats doctor` to see what is wrong (often: `lahstats db upgrade`)"
        ) from exc
    if output is None:
        click.echo(text, nl=False)
        return
    # newline="": the CSV's RFC 4180 line ends stay as they are on every platform.
    output.write_text(text, encoding="utf-8", newline="")
    click.echo(f"wrote {export_format} export of session {session_id} to {output}", err=True)
