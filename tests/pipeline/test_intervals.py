"""The indexed answers (``pipeline.intervals``) equal the plain loops they replaced, ties included.

Times are drawn on a coarse grid so that spans share starts and ends, touch, and nest: the
cases where the order of the plain loop decided."""

from __future__ import annotations

import random

import pytest

from lahstats.pipeline.count import _TurnsOf
from lahstats.pipeline.intervals import COVER_SLACK, Spans, TurnIndex, speaker_at
from lahstats.pipeline.particles import _Near, _near
from lahstats.pipeline.types import Turn, Word


def _plain_speaker_at(start: float, end: float, turns: list[Turn]) -> str | None:
    # the loop speaker_at was before the index, word for word
    middle = (start + end) / 2
    covering = [t for t in turns if t.start - COVER_SLACK <= middle <= t.end + COVER_SLACK]
    if len({turn.speaker for turn in covering}) > 1:
        return max(covering, key=lambda turn: turn.start).speaker
    best: tuple[float, str] | None = None
    for turn in turns:
        depth = min(middle - turn.start, turn.end - middle)
        if best is None or depth > best[0]:
            best = (depth, turn.speaker)
    return None if best is None else best[1]


def _turns(rng: random.Random, count: int, step: float) -> list[Turn]:
    turns = []
    for _ in range(count):
        start = rng.randrange(0, 60) * step
        length = rng.choice([0, 1, 1, 2, 3, 8, 40]) * step
        turns.append(Turn(rng.choice("ABCD"), start, start + length))
    return turns


@pytest.mark.parametrize("seed", range(40))
def test_speaker_at_answers_as_the_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    step = rng.choice([0.05, 0.1, 0.5])
    turns = _turns(rng, rng.randrange(0, 30), step)
    index = TurnIndex(turns)
    for _ in range(200):
        start = rng.randrange(-5, 70) * step / 2
        end = start + rng.randrange(0, 4) * step / 2
        expected = _plain_speaker_at(start, end, turns)
        assert index.speaker_at(start, end) == expected, (start, end, turns)
        assert speaker_at(start, end, turns) == expected


@pytest.mark.parametrize("seed", range(20))
def test_spans_holding_answers_as_a_filter(seed: int) -> None:
    rng = random.Random(seed)
    spans = [(t.start, t.end) for t in _turns(rng, rng.randrange(0, 40), 0.1)]
    index = Spans(spans)
    for _ in range(200):
        at = rng.randrange(-10, 70) * 0.05
        slack = rng.choice([0.0, 0.05, 0.3])
        expected = [i for i, (lo, hi) in enumerate(spans) if lo - slack <= at <= hi + slack]
        assert index.holding(at, slack) == expected


@pytest.mark.parametrize("seed", range(20))
def test_turn_of_a_word_is_the_first_of_its_speakers_turns_holding_it(seed: int) -> None:
    rng = random.Random(seed)
    turns = sorted(_turns(rng, rng.randrange(0, 30), 0.1), key=lambda t: (t.start, t.end))
    turns_of = _TurnsOf(turns)
    for _ in range(200):
        start = rng.randrange(0, 70) * 0.05
        word = Word("lah", start, start + 0.1 * rng.randrange(0, 3), rng.choice("ABCDE"))
        middle = (word.start + word.end) / 2
        inside = [
            i
            for i, t in enumerate(turns)
            if t.speaker == word.speaker and t.start <= middle <= t.end
        ]
        assert turns_of.of(word) == (inside[0] if inside else None)


@pytest.mark.parametrize("seed", range(20))
def test_words_near_a_moment_are_those_the_filter_finds(seed: int) -> None:
    rng = random.Random(seed)
    words = []
    for _ in range(rng.randrange(0, 50)):
        start = rng.randrange(0, 100) * 0.1
        words.append(Word("lah", start, start + rng.randrange(0, 4) * 0.1, "A"))
    near = _Near(words)
    for _ in range(100):
        middle = rng.randrange(0, 110) * 0.05
        expected = sorted(id(word) for word in words if _near(word, middle))
        assert sorted(id(word) for word in near.around(middle)) == expected
