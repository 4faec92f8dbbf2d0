"""``lahstats speakers analyze`` and ``lahstats speakers calibrate``: voices across sessions.

``analyze`` reads the stored embeddings behind the voiceprints (nothing is recomputed);
``calibrate`` runs the diarizer and embedder on a dataset with global reference speaker ids and
prints the threshold and scale for ``LAHSTATS_VOICE_MATCH_THRESHOLD`` / ``..._SCALE``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import click

from lahstats.settings import Settings, get_settings


@click.group()
def speakers() -> None:
    """Voices across sessions: analyse voiceprints, calibrate matching."""


async def _stored(
    settings: Settings, group_id: uuid.UUID | None
) -> tuple[list[Any], dict[uuid.UUID, str]]:
    from lahstats.groups.service import display_name
    from lahstats.storage.database import Database
    from lahstats.storage.models import Profile
    from lahstats.storage.repositories.voices import VoiceRepository

    database = Database(settings.resolved_database_url, pool_size=1)
    try:
        async with database.session() as db:
            voices = VoiceRepository(db)
            members = await voices.group_member_ids(group_id) if group_id else None
            embeddings = await voices.attributed_embeddings(members)
            names = {}
            for user in {e.user_id for e in embeddings}:
                profile = await db.get(Profile, user)
                names[user] = display_name(profile) if profile else str(user)
            return embeddings, names
    finally:
        await database.dispose()


@speakers.command("analyze")
@click.option(
    "--group", "group_id", type=click.UUID, default=None, help="Only this group's members."
)
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
def analyze_voices(group_id: uuid.UUID | None, as_json: bool) -> None:
    """Per user: spread, nearest other voice and margin; silhouette; voices too close to tell."""
    from lahstats.speakers.analysis import analyse

    settings = get_settings()
    embeddings, names = asyncio.run(_stored(settings, group_id))
    results = analyse(embeddings, names, settings.voice_match_threshold)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
        return
    if not results:
        click.echo("No voiceprints yet: claim speakers or enrol voices first.")
        return
    for result in results:
        click.echo(
            f"model {result.model}: {len(result.users)} voices, silhouette "
            f"{'n/a' if result.silhouette is None else f'{result.silhouette:.2f}'}, "
            f"threshold {result.threshold:.2f}"
        )
        click.echo(f"  {'user':24} {'n':>3} {'spread':>7} {'nearest':24} {'sim':>5} {'margin':>7}")
        for user in result.users:
            similar = "-" if user.nearest_similarity is None else f"{user.nearest_similarity:.2f}"
            click.echo(
                f"  {user.name[:24]:24} {user.embeddings:>3} {user.spread:>7.3f} "
                f"{(user.nearest_name or '-')[:24]:24} "
                f"{similar:>5} "
                f"{'-' if user.margin is None else f'{user.margin:.2f}':>7}"
            )
        for warning in result.warnings:
            click.echo(f"  warning: {warning}")


@speakers.command("calibrate")
@click.argument("datasets", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--check",
    "check_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A dataset to test the calibrated threshold on (not used to calibrate).",
)
@click.option(
    "--whole",
    is_flag=True,
    help="Voices as whole-session processing makes them (`lahstats analyze`, the pyannote "
    "diarizer, LAHSTATS_INCREMENTAL=false), "
    "not as a session recorded chunk by chunk gets them.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def calibrate_voices(
    datasets: tuple[Path, ...], check_dirs: tuple[Path, ...], whole: bool, as_json: bool
) -> None:
    """Threshold and scale for voice suggestions, from DATASETS (default ../shared/data/dev,
    synthetic recordings only)."""
    from lahstats.evaluation.dataset import load_dataset
    from lahstats.evaluation.voices import calibrate, check, pairs, recording_voices
    from lahstats.pipeline.diarize import load_diarizer
    from lahstats.pipeline.embed import load_embedder

    settings = get_settings()
    diarizer, embedder = load_diarizer(settings), load_embedder(settings)

    def voices_of(directory: Path, family: str | None) -> list[Any]:
        found = []
        for recording in load_dataset(directory):
            if recording.rttm is None or (family and recording.family != family):
                continue
            click.echo(f"  {recording.id}", err=True)
            found += recording_voices(diarizer, embedder, recording, whole=whole)
        return found

    sources = datasets or (Path("../shared/data/dev"),)
    voices = [v for d in sources for v in voices_of(d, None if datasets else "synthetic")]
    result = calibrate(pairs(voices))
    checks = {str(d): check(pairs(voices_of(d, None)), result.threshold) for d in check_dirs}
    report = {
        "model": embedder.name,
        "voices": "whole session" if whole else "chunk by chunk",
        "calibration": result.as_dict(),
        "checks": checks,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{embedder.name} ({report['voices']}): {result.same_pairs} same-voice and "
        f"{result.different_pairs} "
        f"different-voice pairs; same {result.lowest_same}..(median {result.median_same}), "
        f"different ..{result.highest_different} (median {result.median_different})"
    )
    click.echo(f"LAHSTATS_VOICE_MATCH_THRESHOLD={result.threshold}")
    click.echo(f"LAHSTATS_VOICE_MATCH_SCALE={result.scale}")
    click.echo(f"false matches {result.false_matches}, missed {result.missed_matches}")
    for directory, figures in checks.items():
        click.echo(f"check {directory}: {figures}")
