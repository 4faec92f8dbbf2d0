"""RTTM, the NIST format of speaker turns: ``SPEAKER uri 1 start dur <NA> <NA> speaker <NA> <NA>``.

Used for reference diarizations of evaluation sets and for writing hypotheses that other tools
(pyannote.metrics, dscore) can score. Only ``SPEAKER`` lines carry turns; other line types are
skipped. This module never guesses: a malformed ``SPEAKER`` line is an error naming the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lahstats.errors import InvalidInput
from lahstats.pipeline.types import Turn


def read_rttm(source: Path | str) -> tuple[Turn, ...]:
    """The ``SPEAKER`` turns of an RTTM file (a ``Path``) or of RTTM text (a ``str``), by start.

    Zero-length turns are dropped: they hold no speech and scorers ignore them anyway.
    """
    where = str(source) if isinstance(source, Path) else "RTTM text"
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    turns: list[Turn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise InvalidInput(
                f"{where}, line {number}: a SPEAKER line needs at least 8 fields, "
                f"got {len(fields)}: {line.strip()!r}",
                hint="Use `SPEAKER uri 1 start duration <NA> <NA> speaker <NA> <NA>`.",
            )
        try:
            start, duration = float(fields[3]), float(fields[4])
        except ValueError:
            raise InvalidInput(
                f"{where}, line {number}: start and duration must be seconds, "
                f"got {fields[3]!r} and {fields[4]!r}",
                hint="Write times as decimal seconds, e.g. `1.330 2.450`.",
            ) from None
        if start < 0 or duration < 0:
            raise InvalidInput(
                f"{where}, line {number}: negative start or duration ({start}, {duration})",
                hint="RTTM times are seconds from the start of the recording.",
            )
        if duration > 0:
            turns.append(Turn(speaker=fields[7], start=start, end=start + duration))
    return tuple(sorted(turns, key=lambda turn: (turn.start, turn.end, turn.speaker)))


def write_rttm(turns: Iterable[Turn], uri: str) -> str:
    """RTTM text for ``turns`` of the recording ``uri``, one ``SPEAKER`` line per turn, by start."""
    _check_token("uri", uri)
    lines = []
    for turn in sorted(turns, key=lambda turn: (turn.start, turn.end, turn.speaker)):
        _check_token("speaker label", turn.speaker)
        lines.append(
            f"SPEAKER {uri} 1 {turn.start:.3f} {turn.duration:.3f} "
            f"<NA> <NA> {turn.speaker} <NA> <NA>\n"
        )
    return "".join(lines)


def _check_token(what: str, value: str) -> None:
    # RTTM is whitespace-separated: a space inside a name would shift every later field.
    if not value or any(character.isspace() for character in value):
        raise ValueError(f"an RTTM {what} must be non-empty without whitespace, got {value!r}")
