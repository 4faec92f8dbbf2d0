"""What the recogniser heard and the diarized turns, as JSON text, and back.

A processed session keeps these (``session_recognitions``) so that it can be corrected and counted
again with another lexicon without running a model (``pipeline.recount``). Floats are written in
full (``json`` round-trips them exactly), so a recount sees exactly what the first run saw.
Nothing here touches a database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lahstats.pipeline.types import Turn, Word


def dump_recognition(heard: Sequence[Word], turns: Sequence[Turn]) -> tuple[str, str]:
    """``(heard_json, turns_json)``: the words in time order, and the turns."""
    words = [
        {
            "text": word.text,
            "start": word.start,
            "end": word.end,
            "speaker": word.speaker,
            "probability": word.probability,
            **({"heard": word.heard} if word.heard is not None else {}),
        }
        for word in sorted(heard, key=lambda word: (word.start, word.end))
    ]
    spans = [{"speaker": turn.speaker, "start": turn.start, "end": turn.end} for turn in turns]
    return json.dumps(words, ensure_ascii=False), json.dumps(spans)


def load_recognition(heard_json: str, turns_json: str) -> tuple[tuple[Word, ...], tuple[Turn, ...]]:
    """The words and turns ``dump_recognition`` wrote; ``ValueError`` if the text is not theirs."""
    try:
        words = tuple(_word(item) for item in json.loads(heard_json))
        turns = tuple(
            Turn(str(item["speaker"]), float(item["start"]), float(item["end"]))
            for item in json.loads(turns_json)
        )
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stored recognition: {exc}") from exc
    return words, turns


def _word(item: dict[str, Any]) -> Word:
    heard = item.get("heard")
    return Word(
        text=str(item["text"]),
        start=float(item["start"]),
        end=float(item["end"]),
        speaker=str(item["speaker"]),
        probability=float(item.get("probability", 1.0)),
        heard=None if heard is None else str(heard),
    )
