"""The one command line: ``lahstats serve | worker | db ... | doctor | token | analyze | eval |
export | retention | speakers | models``.

Commands only parse arguments and call into the package; later issues add theirs here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import click

from lahstats import __version__
from lahstats.cli import analysis, export, models, retention, speakers
from lahstats.errors import LahstatsError
from lahstats.settings import get_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lahstats")
def main() -> None:
    """LahStats backend: who said "lah" how many times."""


@main.command()
@click.option("--host", default=None, help="Bind address (default LAHSTATS_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default LAHSTATS_PORT, 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (and, with Redis or without, the job workers).

    In the embedded default (SQLite, development) the schema is brought to head first, as a local
    tool should. Elsewhere migrating is a deployment step (``lahstats db upgrade``), and
    ``/health`` answers 503 naming the revisions until it is done.
    """
    import uvicorn

    from lahstats.api.app import create_app
    from lahstats.storage.migrations import upgrade

    settings = get_settings()
    try:
        if settings.database_backend == "sqlite" and settings.is_development:
            upgrade(settings.resolved_database_url)
        app = create_app(settings, serving=True)
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


@main.command()
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
def worker(burst: bool) -> None:
    """Run an ARQ worker that takes jobs from Redis (needs LAHSTATS_REDIS_URL)."""
    from lahstats.jobs.worker import build_worker
    from lahstats.logs import configure_logging
    from lahstats.runtime.resources import Runtime
    from lahstats.runtime.threads import use_idle_priority

    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException(
            "LAHSTATS_REDIS_URL is not set: without Redis, jobs run inside `lahstats serve`."
        )
    configure_logging(settings.log_level, json=settings.log_json)
    use_idle_priority()  # no API in this process: the pipeline takes only spare CPU

    async def run() -> None:
        runtime = Runtime.build(settings)
        await runtime.start(with_worker=False)
        worker = build_worker(settings, runtime.resources, handle_signals=True, burst=burst)
        try:
            await worker.async_run()
        finally:
            # async_run leaves ARQ's pool open and its health-check key behind; close does both.
            await worker.close()
            await runtime.stop()

    asyncio.run(run())


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from lahstats.storage.migrations import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"database ({settings.database_backend}) upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` empties the schema)."""
    from lahstats.storage.migrations import downgrade

    downgrade(get_settings().resolved_database_url, revision)
    click.echo(f"database downgraded to {revision}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
def doctor(as_json: bool) -> None:
    """Check the database, Redis, storage, ffmpeg and every configured model."""
    from lahstats.cli.doctor import as_dicts, diagnose, render_table

    findings = diagnose(get_settings())
    if as_json:
        click.echo(json.dumps(as_dicts(findings), indent=2))
    else:
        click.echo(render_table(findings))
    failed = [f.check for f in findings if f.status == "FAIL"]
    if failed:
        click.echo(f"\n{len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        sys.exit(1)


@main.group()
def token() -> None:
    """Bearer tokens for development and testing."""


@token.command("create")
@click.option("--email", required=True, help="The user's email; the same email, the same user.")
@click.option("--name", default=None, help="Display name (user_metadata.name).")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="How long the token is valid.",
)
@click.option(
    "--user-id", type=click.UUID, default=None, help="Use this user id instead of the email's."
)
def token_create(email: str, name: str | None, days: float, user_id: uuid.UUID | None) -> None:
    """Print one HS256 token signed with LAHSTATS_JWT_SECRET (or the development secret)."""
    from lahstats.auth.tokens import create_token

    try:
        click.echo(create_token(get_settings(), email=email, name=name, user_id=user_id, days=days))
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc


main.add_command(analysis.analyze)
main.add_command(analysis.evaluate)
main.add_command(export.export)
main.add_command(speakers.speakers)
main.add_command(retention.retention)
main.add_command(models.models)
