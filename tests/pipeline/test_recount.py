"""Recounting: the model-free end of ``analyze_speech``, its stored input, and custom words.

The models are stand-ins that return a fixed recognition, so ``analyze_speech`` itself runs and
its words, lines and counts can be compared with ``recount`` on what it reports it heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pytest

from lahstats.lexicon.lexicon import Lexicon, LexiconEntry, load_lexicon
from lahstats.pipeline.recognition import dump_recognition, load_recognition
from lahstats.pipeline.recount import recount
from lahstats.pipeline.run import Models, analyze_speech
from lahstats.pipeline.types import Audio, ProgressHook, SpeakerHints, Turn, Word
from tests.pipeline.heard import HEARD, MAKAN, TURNS


@dataclass
class _Diarizer:
    name: str = "fixed-turns"

    def diarize(self, audio: Audio, hints: SpeakerHints, on_progress: ProgressHook) -> Any:
        return TURNS


@dataclass
class _Transcriber:
    name: str = "fixed-words"

    def transcribe(self, audio: Audio, turns: Any, on_progress: ProgressHook) -> Any:
        return HEARD


@pytest.fixture
def models() -> Models:
    return Models(
        diarizer=_Diarizer(),
        transcriber=_Transcriber(),
        embedder=cast(Any, None),  # analyze_speech never embeds
        lexicon=load_lexicon(),
        load_seconds=0.0,
    )


@pytest.fixture
def audio() -> Audio:
    return Audio(np.zeros(16_000 * 13, dtype=np.float32))


def _counts(found: Any) -> dict[str, dict[str, int]]:
    return {entry.speaker: dict(entry.counts) for entry in found}


@pytest.mark.parametrize(
    "lexicon", [None, load_lexicon([MAKAN])], ids=["built-in words", "with makan"]
)
def test_analyze_speech_is_recount_of_what_it_heard(
    models: Models, audio: Audio, lexicon: Lexicon | None
) -> None:
    analysis = analyze_speech(models, audio, lexicon=lexicon)

    assert analysis.heard == HEARD  # before correction: "While up," is kept as heard
    again = recount(analysis.heard, analysis.turns, lexicon or models.lexicon)
    assert analysis.words == again.words
    assert analysis.segments == again.segments
    assert analysis.counts == again.counts
    assert {"diarize", "transcribe", "correct", "count"} <= set(analysis.timings)


def test_the_lexicon_given_is_the_one_counted_with(models: Models, audio: Audio) -> None:
    plain = _counts(analyze_speech(models, audio).counts)
    custom = _counts(analyze_speech(models, audio, lexicon=load_lexicon([MAKAN])).counts)

    assert plain == {
        "SPEAKER_00": {"walao": 1, "lah": 1},
        "SPEAKER_01": {"lor": 1, "can": 1},
    }
    assert custom == {
        "SPEAKER_00": {"walao": 1, "lah": 1},
        # by variant ("makin'", "make an") and by sound ("mahkan")
        "SPEAKER_01": {"lor": 1, "can": 1, "makan": 3},
    }


def test_a_custom_word_reaches_the_transcript_and_keeps_what_was_heard() -> None:
    found = recount(HEARD, TURNS, load_lexicon([MAKAN]))

    changed = [(word.heard, word.text) for word in found.words if word.heard is not None]
    assert ("makin'", "makan'") in changed  # the tail the recogniser wrote stays
    assert ("make an", "makan") in changed
    assert ("mahkan", "makan") in changed
    said = " ".join(line.text for line in found.segments if line.speaker == "SPEAKER_01")
    assert said.count("makan") == 3


def test_a_word_said_by_no_one_is_not_counted() -> None:
    found = recount(HEARD, TURNS, load_lexicon([LexiconEntry.of("shiokdao")]))

    assert all("shiokdao" not in entry.counts for entry in found.counts)


def test_a_stored_recognition_reads_back_exactly() -> None:
    heard = (
        Word("lah.", 8.839999999999999, 9.1, "SPEAKER_01", 0.38299421966075897),
        Word("Wah", 0.0, 0.5, "SPEAKER_00", heard="wa"),
    )
    turns = (Turn("SPEAKER_00", 0.0, 4.86), Turn("SPEAKER_01", 5.46, 12.37))

    words, spans = load_recognition(*dump_recognition(heard, turns))

    assert words == tuple(sorted(heard, key=lambda word: word.start))  # kept in time order
    assert spans == turns


@pytest.mark.parametrize(
    ("heard", "turns"),
    [("not json", "[]"), ('[{"text": "lah"}]', "[]"), ("[]", '[{"speaker": "A"}]'), ("{}", "7")],
    ids=["not json", "word without times", "turn without times", "not lists"],
)
def test_text_that_is_not_a_stored_recognition_is_refused(heard: str, turns: str) -> None:
    with pytest.raises(ValueError, match="not a stored recognition"):
        load_recognition(heard, turns)
