"""The export formatters, without a database: each format parses back to what went in.

SRT and WebVTT are read with the small strict parsers below (no subtitle package is installed),
which refuse what a fussy player would: a missing index, a bad timestamp, a cue ending before it
starts, raw markup characters in VTT text.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from lahstats.sessions.export import (
    MIN_CUE_MS,
    UNKNOWN_SPEAKER,
    ExportFormat,
    ExportSegment,
    ExportSession,
    ExportSpeaker,
    SessionExport,
    filename,
    render,
    to_csv,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
)

SESSION_ID = uuid.UUID("1234abcd-0000-4000-8000-000000000001")
GROUP_ID = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
ANA_USER = uuid.UUID("00000000-0000-4000-8000-0000000000bb")
ANA = ExportSpeaker(
    id=uuid.UUID("00000000-0000-4000-8000-000000000010"),
    label="SPEAKER_00",
    name="Ana",
    claim_type="self",
    user_id=ANA_USER,
    total_duration_seconds=12.345,
    word_counts={"walao": 1, "lah": 3},
)
UNCLE = ExportSpeaker(
    id=uuid.UUID("00000000-0000-4000-8000-000000000011"),
    label="SPEAKER_01",
    name="Uncle <Lim> & co",
    claim_type="guest",
    user_id=None,
    total_duration_seconds=4.0,
    word_counts={"shiok": 2},
)
NOBODY = ExportSpeaker(
    id=uuid.UUID("00000000-0000-4000-8000-000000000012"),
    label="SPEAKER_02",
    name="SPEAKER_02",
    claim_type=None,
    user_id=None,
    total_duration_seconds=0.0,
)


def segment(
    start: float, end: float, speaker: ExportSpeaker | None, text: str, heard: str | None = None
) -> ExportSegment:
    return ExportSegment(
        start=start,
        end=end,
        speaker_id=speaker.id if speaker else None,
        speaker=speaker.name if speaker else None,
        text=text,
        heard=text if heard is None else heard,
    )


SEGMENTS = (
    segment(1.0, 3.25, ANA, "Wah, this kopi shiok lah", heard="wah this coffee shook la"),
    segment(62.5, 64.0, UNCLE, 'He said "can <or not>" & left,\nthen came back'),
    segment(70.0, 70.0, NOBODY, "walao"),  # zero length: gets a minimum duration
    segment(80.0, 79.5, None, "mm"),  # ends before it starts, and no speaker
    segment(3725.9996, 3727.0, ANA, "shiok 😋 lah"),
)
EXPORT = SessionExport(
    session=ExportSession(
        id=SESSION_ID,
        group_id=GROUP_ID,
        started_at=datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC),
        duration_seconds=3727.0,
        status="ready_for_claiming",
    ),
    speakers=(ANA, UNCLE, NOBODY),
    segments=SEGMENTS,
)
EMPTY = SessionExport(session=EXPORT.session, speakers=(), segments=())


# ---- strict subtitle parsers ------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    index: int
    start_ms: int
    end_ms: int
    text: str


def _ms(stamp: str, separator: str) -> int:
    match = re.fullmatch(rf"(\d{{2}}):([0-5]\d):([0-5]\d){re.escape(separator)}(\d{{3}})", stamp)
    assert match, f"bad timestamp {stamp!r}"
    hours, minutes, seconds, millis = (int(part) for part in match.groups())
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def _timing(line: str, separator: str) -> tuple[int, int]:
    start, arrow, end = line.partition(" --> ")
    assert arrow, f"no timing line: {line!r}"
    start_ms, end_ms = _ms(start, separator), _ms(end, separator)
    assert end_ms > start_ms, f"cue ends before it starts: {line!r}"
    return start_ms, end_ms


def parse_srt(text: str) -> list[Cue]:
    assert text.endswith("\n\n") or not text, "every cue ends with a blank line"
    cues = []
    for number, block in enumerate(text.split("\n\n")[:-1], start=1):
        lines = block.split("\n")
        assert len(lines) >= 3, f"cue {number} needs index, timing and text: {block!r}"
        assert lines[0] == str(number), f"cue index {lines[0]!r}, expected {number}"
        start, end = _timing(lines[1], ",")
        assert all(line.strip() for line in lines[2:]), "blank text line inside a cue"
        cues.append(Cue(number, start, end, "\n".join(lines[2:])))
    return cues


_VOICE = re.compile(r"<v ([^<>&]*(?:&(?:amp|lt|gt);[^<>&]*)*)>(.*)</v>")


def parse_vtt(text: str) -> list[tuple[Cue, str]]:
    """Cues of a WebVTT file whose payload is one voice span: ``(cue, unescaped voice)``."""
    header, _, body = text.partition("\n\n")
    assert header == "WEBVTT"
    assert body.endswith("\n\n") or not body
    cues = []
    for block in body.split("\n\n")[:-1]:
        identifier, timing, payload, *rest = block.split("\n")
        assert not rest, f"one payload line expected: {block!r}"
        assert "-->" not in identifier
        start, end = _timing(timing, ".")
        match = _VOICE.fullmatch(payload)
        assert match, f"not a voice span: {payload!r}"
        voice, inner = match.groups()
        assert not re.search(r"[<>]|&(?!(amp|lt|gt);)", inner), f"unescaped text: {inner!r}"
        cues.append((Cue(int(identifier), start, end, html.unescape(inner)), html.unescape(voice)))
    return cues


# ---- the formats ------------------------------------------------------------------------------


def test_json_has_the_session_speakers_with_names_and_counts_and_segments() -> None:
    data = json.loads(to_json(EXPORT))
    assert data["session"] == {
        "id": str(SESSION_ID),
        "group_id": str(GROUP_ID),
        "started_at": "2026-03-14T09:26:53+00:00",
        "duration_seconds": 3727.0,
        "status": "ready_for_claiming",
    }
    assert data["speakers"][0] == {
        "id": str(ANA.id),
        "label": "SPEAKER_00",
        "name": "Ana",
        "claim_type": "self",
        "user_id": str(ANA_USER),
        "word_counts": {"lah": 3, "walao": 1},
        "total_duration_seconds": 12.35,
    }
    assert [(s["name"], s["claim_type"], s["user_id"]) for s in data["speakers"][1:]] == [
        ("Uncle <Lim> & co", "guest", None),
        ("SPEAKER_02", None, None),
    ]
    assert data["segments"][0] == {
        "start": 1.0,
        "end": 3.25,
        "speaker_id": str(ANA.id),
        "speaker": "Ana",
        "text": "Wah, this kopi shiok lah",
        "heard": "wah this coffee shook la",
    }
    assert data["segments"][3]["speaker_id"] is None
    assert data["segments"][3]["speaker"] is None
    assert data["segments"][4]["text"] == "shiok 😋 lah"


def test_csv_parses_to_one_row_per_segment_with_three_decimal_times() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(EXPORT), newline="")))
    assert rows[0] == ["start", "end", "speaker", "text", "heard"]
    assert len(rows) == 1 + len(SEGMENTS)
    assert rows[1] == [
        "1.000",
        "3.250",
        "Ana",
        "Wah, this kopi shiok lah",
        "wah this coffee shook la",
    ]
    # Commas, quotes and a line break inside a field survive the round trip.
    assert rows[2][2:4] == ["Uncle <Lim> & co", 'He said "can <or not>" & left,\nthen came back']
    assert rows[4][:3] == ["80.000", "79.500", ""]
    assert rows[5][:2] == ["3726.000", "3727.000"]
    assert "Word counts" not in to_csv(EXPORT)


def test_csv_of_an_empty_transcript_is_just_the_header() -> None:
    assert to_csv(EMPTY) == "start,end,speaker,text,heard\r\n"


def test_txt_is_a_readable_transcript_followed_by_word_counts() -> None:
    assert to_txt(EXPORT) == (
        "[00:00:01.0] Ana: Wah, this kopi shiok lah\n"
        '[00:01:02.5] Uncle <Lim> & co: He said "can <or not>" & left, then came back\n'
        "[00:01:10.0] SPEAKER_02: walao\n"
        f"[00:01:20.0] {UNKNOWN_SPEAKER}: mm\n"
        "[01:02:06.0] Ana: shiok 😋 lah\n"
        "\n"
        "Word counts\n"
        "Ana: 4 (lah 3, walao 1)\n"
        "Uncle <Lim> & co: 2 (shiok 2)\n"
        "SPEAKER_02: 0 (none)\n"
    )


def test_srt_is_valid_subrip_with_speaker_prefixes() -> None:
    cues = parse_srt(to_srt(EXPORT))
    assert [cue.text for cue in cues] == [
        "Ana: Wah, this kopi shiok lah",
        'Uncle <Lim> & co: He said "can <or not>" & left, then came back',
        "SPEAKER_02: walao",
        f"{UNKNOWN_SPEAKER}: mm",
        "Ana: shiok 😋 lah",
    ]
    assert [(cue.start_ms, cue.end_ms) for cue in cues] == [
        (1_000, 3_250),
        (62_500, 64_000),
        (70_000, 70_000 + MIN_CUE_MS),
        (80_000, 80_000 + MIN_CUE_MS),
        (3_726_000, 3_727_000),  # 3725.9996 s rounds up to a whole second, not to ":60"
    ]
    assert "01:02:06,000 --> 01:02:07,000" in to_srt(EXPORT)


def test_vtt_is_valid_webvtt_with_escaped_voice_spans() -> None:
    text = to_vtt(EXPORT)
    assert '<v Uncle &lt;Lim&gt; &amp; co>He said "can &lt;or not&gt;" &amp; left,' in text
    cues = parse_vtt(text)
    assert [voice for _, voice in cues] == [
        "Ana",
        "Uncle <Lim> & co",
        "SPEAKER_02",
        UNKNOWN_SPEAKER,
        "Ana",
    ]
    assert [cue.text for cue, _ in cues] == [
        "Wah, this kopi shiok lah",
        'He said "can <or not>" & left, then came back',
        "walao",
        "mm",
        "shiok 😋 lah",
    ]
    assert [(cue.start_ms, cue.end_ms) for cue, _ in cues][2:4] == [
        (70_000, 70_000 + MIN_CUE_MS),
        (80_000, 80_000 + MIN_CUE_MS),
    ]
    assert "00:01:02.500 --> 00:01:04.000" in text


def test_subtitles_of_an_empty_transcript_are_still_valid() -> None:
    assert parse_srt(to_srt(EMPTY)) == []
    assert parse_vtt(to_vtt(EMPTY)) == []


def test_the_strict_parsers_reject_what_players_reject() -> None:
    with pytest.raises(AssertionError, match="ends before it starts"):
        parse_srt("1\n00:00:02,000 --> 00:00:01,000\nAna: hi\n\n")
    with pytest.raises(AssertionError, match="bad timestamp"):
        parse_srt("1\n00:00:01.000 --> 00:00:02,000\nAna: hi\n\n")
    with pytest.raises(AssertionError, match="unescaped"):
        parse_vtt("WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Ana>a < b</v>\n\n")


@pytest.mark.parametrize("export_format", list(ExportFormat), ids=str)
def test_render_picks_the_format_and_names_the_file(export_format: ExportFormat) -> None:
    renderers = {"json": to_json, "csv": to_csv, "txt": to_txt, "srt": to_srt, "vtt": to_vtt}
    assert render(EXPORT, export_format) == renderers[export_format.value](EXPORT)
    assert filename(SESSION_ID, export_format) == f"lahstats-1234abcd.{export_format.value}"


def test_media_types() -> None:
    assert {f.value: f.media_type for f in ExportFormat} == {
        "json": "application/json",
        "csv": "text/csv",
        "txt": "text/plain",
        "srt": "application/x-subrip",
        "vtt": "text/vtt",
    }
