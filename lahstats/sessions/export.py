"""A processed session as a file: JSON, CSV, a plain-text transcript, SubRip or WebVTT subtitles.

The formatters are pure: they take a ``SessionExport`` (plain dataclasses that
``export_view.load_export`` reads from the database) and return text, so each format can be
tested without a database and both the API and the CLI write the same bytes. Nothing here may
query the database or speak HTTP.
"""

from __future__ import annotations

import csv
import html
import io
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# Players drop cues that end before (or when) they start; such a cue is shown this long instead.
MIN_CUE_MS = 500
UNKNOWN_SPEAKER = "Unknown speaker"


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    TXT = "txt"
    SRT = "srt"
    VTT = "vtt"

    @property
    def media_type(self) -> str:
        """The bare media type; text/* ones are sent with ``; charset=utf-8``."""
        return _MEDIA_TYPES[self]

    @classmethod
    def names(cls) -> list[str]:
        return [member.value for member in cls]


_MEDIA_TYPES = {
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv",
    ExportFormat.TXT: "text/plain",
    ExportFormat.SRT: "application/x-subrip",
    ExportFormat.VTT: "text/vtt",
}


@dataclass(frozen=True, slots=True)
class ExportSession:
    id: uuid.UUID
    group_id: uuid.UUID
    started_at: datetime
    duration_seconds: float | None
    status: str


@dataclass(frozen=True, slots=True)
class ExportSpeaker:
    id: uuid.UUID
    label: str
    name: str
    """The claimed member's display name, else the guest's name, else the label."""
    claim_type: str | None
    user_id: uuid.UUID | None
    total_duration_seconds: float
    word_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExportSegment:
    start: float
    end: float
    speaker_id: uuid.UUID | None
    speaker: str | None
    """The speaker's name; None for speech no speaker was found for."""
    text: str
    """As corrected (what the counts were made from)."""
    heard: str
    """As the recogniser first heard it."""


@dataclass(frozen=True, slots=True)
class SessionExport:
    session: ExportSession
    speakers: Sequence[ExportSpeaker]
    segments: Sequence[ExportSegment]


def filename(session_id: uuid.UUID, export_format: ExportFormat) -> str:
    return f"lahstats-{str(session_id)[:8]}.{export_format.value}"


def render(export: SessionExport, export_format: ExportFormat) -> str:
    return _RENDERERS[ExportFormat(export_format)](export)


def to_json(export: SessionExport) -> str:
    session = export.session
    data: dict[str, Any] = {
        "session": {
            "id": str(session.id),
            "group_id": str(session.group_id),
            "started_at": session.started_at.isoformat(),
            "duration_seconds": session.duration_seconds,
            "status": session.status,
        },
        "speakers": [
            {
                "id": str(speaker.id),
                "label": speaker.label,
                "name": speaker.name,
                "claim_type": speaker.claim_type,
                "user_id": str(speaker.user_id) if speaker.user_id else None,
                "word_counts": dict(sorted(speaker.word_counts.items())),
                "total_duration_seconds": round(speaker.total_duration_seconds, 2),
            }
            for speaker in export.speakers
        ],
        "segments": [
            {
                "start": round(segment.start, 3),
                "end": round(segment.end, 3),
                "speaker_id": str(segment.speaker_id) if segment.speaker_id else None,
                "speaker": segment.speaker,
                "text": segment.text,
                "heard": segment.heard,
            }
            for segment in export.segments
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def to_csv(export: SessionExport) -> str:
    """One row per segment, under a ``start,end,speaker,text,heard`` header.

    The per-speaker word counts are not in the CSV: a second table in the same file would stop
    it parsing as one. Use the JSON or text export for the counts.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(["start", "end", "speaker", "text", "heard"])
    for segment in export.segments:
        writer.writerow(
            [
                f"{segment.start:.3f}",
                f"{segment.end:.3f}",
                segment.speaker or "",
                segment.text,
                segment.heard,
            ]
        )
    return out.getvalue()


def to_txt(export: SessionExport) -> str:
    """``[00:01:02.5] Ana: text`` lines, then each speaker's word counts."""
    lines = [
        f"[{_clock(segment.start)}] {_speaker(segment)}: {_one_line(segment.text)}"
        for segment in export.segments
    ]
    if lines:
        lines.append("")
    lines.append("Word counts")
    for speaker in export.speakers:
        counts = sorted(speaker.word_counts.items(), key=lambda item: (-item[1], item[0]))
        total = sum(n for _, n in counts)
        detail = ", ".join(f"{word} {n}" for word, n in counts) or "none"
        lines.append(f"{speaker.name}: {total} ({detail})")
    return "\n".join(lines) + "\n"


def to_srt(export: SessionExport) -> str:
    cues = []
    for index, segment in enumerate(export.segments, start=1):
        start, end = _cue_ms(segment)
        cues.append(
            f"{index}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n"
            f"{_speaker(segment)}: {_one_line(segment.text)}\n\n"
        )
    return "".join(cues)


def to_vtt(export: SessionExport) -> str:
    cues = ["WEBVTT\n\n"]
    for index, segment in enumerate(export.segments, start=1):
        start, end = _cue_ms(segment)
        voice = _escape(_speaker(segment))
        cues.append(
            f"{index}\n{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n"
            f"<v {voice}>{_escape(_one_line(segment.text))}</v>\n\n"
        )
    return "".join(cues)


_RENDERERS: dict[ExportFormat, Callable[[SessionExport], str]] = {
    ExportFormat.JSON: to_json,
    ExportFormat.CSV: to_csv,
    ExportFormat.TXT: to_txt,
    ExportFormat.SRT: to_srt,
    ExportFormat.VTT: to_vtt,
}


def _speaker(segment: ExportSegment) -> str:
    return _one_line(segment.speaker or "") or UNKNOWN_SPEAKER


def _one_line(text: str) -> str:
    # A line break inside a cue, or a blank line, would end it early in SRT and VTT.
    return " ".join(text.split())


def _escape(text: str) -> str:
    # VTT cue text treats & and < as markup, and > would close a voice span's annotation.
    return html.escape(text, quote=False)


def _cue_ms(segment: ExportSegment) -> tuple[int, int]:
    start = max(0, round(segment.start * 1000))
    end = round(segment.end * 1000)
    return start, end if end > start else start + MIN_CUE_MS


def _timestamp(ms: int, separator: str) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _clock(seconds: float) -> str:
    tenths = max(0, round(seconds * 10))
    whole, tenth = divmod(tenths, 10)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{tenth}"
