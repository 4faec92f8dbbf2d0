from __future__ import annotations

from pathlib import Path

import pytest

from lahstats.errors import InvalidInput
from lahstats.evaluation.rttm import read_rttm, write_rttm
from lahstats.pipeline.types import Turn


def test_written_turns_read_back_in_time_order(tmp_path: Path) -> None:
    turns = (Turn("B", 10.0, 20.25), Turn("A", 0.0, 10.0), Turn("A", 15.5, 17.0))
    text = write_rttm(turns, "conv")
    assert text.splitlines()[0] == "SPEAKER conv 1 0.000 10.000 <NA> <NA> A <NA> <NA>"
    (tmp_path / "conv.rttm").write_text(text)
    assert read_rttm(tmp_path / "conv.rttm") == tuple(sorted(turns, key=lambda t: t.start))


def test_other_lines_and_empty_turns_are_skipped() -> None:
    text = (
        ";; a comment\n"
        "SPKR-INFO conv 1 <NA> <NA> <NA> unknown A <NA>\n"
        "SPEAKER conv 1 1.5 0.000 <NA> <NA> A <NA> <NA>\n"
        "\n"
        "SPEAKER conv 1 2.0 1.0 <NA> <NA> B <NA> <NA>\n"
    )
    assert read_rttm(text) == (Turn("B", 2.0, 3.0),)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("SPEAKER conv 1 2.0 1.0", id="too-few-fields"),
        pytest.param("SPEAKER conv 1 two 1.0 <NA> <NA> B <NA> <NA>", id="start-not-a-number"),
        pytest.param("SPEAKER conv 1 2.0 -1 <NA> <NA> B <NA> <NA>", id="negative-duration"),
    ],
)
def test_malformed_speaker_line_names_its_line(line: str) -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        read_rttm("SPEAKER conv 1 0 1 <NA> <NA> A <NA> <NA>\n" + line)


def test_whitespace_in_a_label_is_refused() -> None:
    with pytest.raises(ValueError, match="speaker label"):
        write_rttm([Turn("Uncle Lim", 0.0, 1.0)], "conv")
