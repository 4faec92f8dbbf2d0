"""``lahstats retention run [--dry-run]``: apply the chunk retention policy now.

The same purge the server runs every ``LAHSTATS_RETENTION_INTERVAL_SECONDS``; this command is for
operators (a cron job, or a look at what would go first). It only parses options and prints.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from lahstats.errors import LahstatsError
from lahstats.settings import Settings, get_settings

if TYPE_CHECKING:
    from lahstats.sessions.retention import RetentionReport


@click.group()
def retention() -> None:
    """Data retention: raw chunks go LAHSTATS_CHUNK_RETENTION_DAYS after processing."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def retention_run(dry_run: bool) -> None:
    """Delete the chunk blobs of sessions processed over N days ago (samples stay)."""
    settings = get_settings()
    from sqlalchemy.exc import SQLAlchemyError

    try:
        report = asyncio.run(_purge(settings, dry_run=dry_run))
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:  # its text may hold connection details: name the type only
        raise click.ClickException(
            f"the database could not be read ({type(exc).__name__}); check "
            "LAHSTATS_DATABASE_URL and run `lahstats db upgrade`"
        ) from exc
    click.echo(render(report, settings.chunk_retention_days))


async def _purge(settings: Settings, *, dry_run: bool) -> RetentionReport:
    # Imported here: `lahstats --help` should not load the database layer.
    from lahstats.sessions.retention import purge_expired_chunks
    from lahstats.storage.blobs import create_blob_store
    from lahstats.storage.database import Database

    database = Database(settings.resolved_database_url)
    blobs = create_blob_store(settings)
    try:
        return await purge_expired_chunks(database, blobs, settings, dry_run=dry_run)
    finally:
        await blobs.close()
        await database.dispose()


def render(report: RetentionReport, days: int) -> str:
    verb = "would delete" if report.dry_run else "deleted"
    lines = [
        f"{found.session_id}  {found.chunks} chunk(s)  {_size(found.bytes)}"
        for found in report.sessions
    ]
    blobs = "" if report.dry_run else f" ({report.blobs_deleted} blob(s) removed from storage)"
    lines.append(
        f"{verb} {report.chunks} chunk(s), {_size(report.bytes)}, of {len(report.sessions)} "
        f"session(s) processed before {report.cutoff:%Y-%m-%d %H:%M} UTC ({days} days)"
        f"{blobs}; samples, counts and transcripts are kept"
    )
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"
