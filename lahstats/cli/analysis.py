"""``lahstats analyze`` and ``lahstats eval``: the pipeline from the command line, offline.

Commands parse arguments, load the models once and call ``lahstats.pipeline.run``; the figures
come from ``lahstats.evaluation``. Progress goes to stderr so stdout stays clean for ``--json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from lahstats.errors import LahstatsError
from lahstats.pipeline.types import SpeakerHints
from lahstats.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from lahstats.evaluation.dataset import Recording
    from lahstats.evaluation.report import EvalReport
    from lahstats.pipeline.run import Models
    from lahstats.pipeline.types import Analysis


class ProgressBar:
    """A one-line bar on a terminal; one line per stage when stderr is a file or a pipe."""

    WIDTH = 30

    def __init__(self, stream: TextIO = sys.stderr, *, label: str = "") -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty()
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        if self.tty:
            filled = self.WIDTH * percent // 100
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r{self.label}[{bar}] {percent:3d}% {stage:<10}")
            if percent >= 100:
                self.stream.write("\n")
        elif stage != self.stage:
            self.stream.write(f"{self.label}{percent:3d}% {stage}\n")
        self.stage = stage
        self.stream.flush()


def _hints(speakers: int | None, minimum: int | None, maximum: int | None) -> SpeakerHints:
    if speakers is not None and (minimum is not None or maximum is not None):
        raise click.UsageError("give either --speakers or --min-speakers/--max-speakers")
    try:
        return SpeakerHints(exact=speakers, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--speakers", type=int, default=None, help="Exactly this many speakers.")
@click.option("--min-speakers", type=int, default=None, help="At least this many speakers.")
@click.option("--max-speakers", type=int, default=None, help="At most this many speakers.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON on stdout.")
@click.option(
    "--rttm", type=click.Path(dir_okay=False, path_type=Path), help="Write speaker turns as RTTM."
)
@click.option(
    "--samples",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each speaker's 5 s sample clip into this directory.",
)
def analyze(  # noqa: PLR0917  (click passes each option as an argument)
    files: tuple[Path, ...],
    speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
    as_json: bool,
    rttm: Path | None,
    samples: Path | None,
) -> None:
    """Count who said which Singlish word in FILES (several files: ordered chunks of one talk)."""
    from lahstats.evaluation.rttm import write_rttm
    from lahstats.pipeline.decode import decode_files
    from lahstats.pipeline.run import analyze as run_analysis
    from lahstats.pipeline.run import banded, load_models
    from lahstats.pipeline.summary import render, summarise

    hints = _hints(speakers, min_speakers, max_speakers)
    settings = get_settings()
    progress = ProgressBar()
    try:
        progress("load models", 0, 100)
        models = load_models(settings)
        audio = decode_files(list(files), on_progress=banded(progress))
        analysis = run_analysis(
            models, audio, hints, on_progress=progress, with_samples=samples is not None
        )
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    if rttm is not None:
        rttm.write_text(write_rttm(analysis.turns, uri=files[0].stem))
    if samples is not None:
        samples.mkdir(parents=True, exist_ok=True)
        for sample in analysis.samples:
            suffix = ".ogg" if "ogg" in sample.content_type else ".mp3"
            (samples / f"{sample.speaker}{suffix}").write_bytes(sample.data)
    order = models.lexicon.words
    if as_json:
        data = summarise(analysis, words_order=order)
        data["models"] = models.names
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render(analysis, words_order=order))


@click.command("eval")
@click.argument(
    "dataset", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DATASET_DIR"
)
@click.option("--chunks", is_flag=True, help="Feed each recording as its 30 s chunk files.")
@click.option(
    "--incremental",
    is_flag=True,
    help="With --chunks: look at each chunk on its own as the service does while a session is "
    "recorded (a recording without chunk files is cut in 30 s pieces), then finish from the "
    "chunks' results; prints whole-session processing's scores beside it.",
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here."
)
@click.option("--only", multiple=True, help="Evaluate only these recording ids (repeatable).")
@click.option(
    "--collar",
    type=float,
    default=0.25,
    show_default=True,
    help="der_collar's collar as pyannote.metrics takes it (total width; 0.5 = NIST's +-0.25 s).",
)
def evaluate(  # noqa: PLR0917 -- click passes every option by position
    dataset: Path,
    chunks: bool,
    incremental: bool,
    json_out: Path | None,
    only: tuple[str, ...],
    collar: float,
) -> None:
    """Run the pipeline over DATASET_DIR/index.json and score it against the ground truth."""
    from lahstats.evaluation.dataset import load_dataset
    from lahstats.evaluation.report import RecordingResult, render_table
    from lahstats.evaluation.runner import evaluate as run_evaluation
    from lahstats.pipeline.run import load_models

    if incremental and not chunks:
        raise click.UsageError("--incremental feeds chunks: give --chunks too")
    settings = get_settings()
    try:
        recordings = load_dataset(dataset)
        if only:
            unknown = set(only) - {r.id for r in recordings}
            if unknown:
                raise click.UsageError(f"no recording with id {', '.join(sorted(unknown))}")
            recordings = tuple(r for r in recordings if r.id in only)
        started = time.perf_counter()
        models = load_models(settings)
        click.echo(
            f"models: {models.names} loaded in {time.perf_counter() - started:.1f} s", err=True
        )
        whole_session, chunk_by_chunk = _analyzers(models, chunks=chunks)

        def on_result(result: RecordingResult) -> None:
            click.echo(f"{result.id}: {result.summary()}", err=True)

        whole = None
        if incremental:
            whole = run_evaluation(recordings, whole_session, collar=collar)
            click.echo(f"whole session: {_headline(whole)}", err=True)
        analyze = chunk_by_chunk if incremental else whole_session
        report = run_evaluation(recordings, analyze, collar=collar, on_result=on_result)
    except LahstatsError as exc:
        raise click.ClickException(str(exc)) from exc
    if whole is not None:
        click.echo("whole session:")
        click.echo(render_table(whole))
        click.echo("chunk by chunk:")
    click.echo(render_table(report))
    if whole is not None:
        click.echo(f"whole session:  {_headline(whole)}")
        click.echo(f"chunk by chunk: {_headline(report)}")
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_json(), indent=2))
        click.echo(f"wrote {json_out}", err=True)


def _analyzers(
    models: Models, *, chunks: bool
) -> tuple[Callable[[Recording], Analysis], Callable[[Recording], Analysis]]:
    """How ``eval`` analyses a recording: whole (from its chunk files joined, with ``chunks``),
    and chunk by chunk (its chunk files, or its audio cut in 30 s pieces as the app cuts it)."""
    from lahstats.pipeline.decode import decode_file, decode_files
    from lahstats.pipeline.incremental import analyze_incrementally, cut_into_chunks
    from lahstats.pipeline.run import analyze as run_analysis

    def whole_session(recording: Recording) -> Analysis:
        files = list(recording.chunks) if chunks and recording.chunks else [recording.audio]
        audio = decode_files(files)
        return run_analysis(models, audio, with_samples=False, with_embeddings=False)

    def chunk_by_chunk(recording: Recording) -> Analysis:
        if recording.chunks:
            pieces = [decode_file(path) for path in recording.chunks]
        else:
            pieces = cut_into_chunks(decode_file(recording.audio))
        return analyze_incrementally(models, pieces)

    return whole_session, chunk_by_chunk


def _headline(report: EvalReport) -> str:
    """Word F1 and DER of a whole set, the figures chunk-by-chunk processing must keep."""
    overall = report.to_json()["overall"]
    f1, der = overall["word_f1"], overall["der_collar"]
    return (
        f"word F1 {'-' if f1 is None else f'{f1:.3f}'}, "
        f"DER {'-' if der is None else f'{100 * der:.1f} %'} (collar)"
    )
