"""Count each speaker's tracked words, and cut the transcript into lines.

The counting rule is the one the ground truth uses (``shared/data/README.md``): lower-case the
text, take tokens ``[a-z]+('[a-z]+)*``, count exact matches. So "can't" and "cannot" never count
and every standalone "can" and "ah" does; this stage never guesses what a word meant.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.intervals import Spans
from lahstats.pipeline.types import Segment, SpeakerCounts, Turn, Word

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*")


def tokens(text: str) -> list[str]:
    """The countable tokens of a text: "Can't, LAH!" -> ["can't", "lah"]."""
    return TOKEN.findall(text.lower())


def count_words(words: Sequence[Word], lexicon: Lexicon) -> tuple[SpeakerCounts, ...]:
    """Per speaker (in order of first word), how often each tracked word was said."""
    tracked = frozenset(lexicon.words)
    order = {word: rank for rank, word in enumerate(lexicon.words)}
    counted: dict[str, Counter[str]] = defaultdict(Counter)
    for word in words:
        found = counted[word.speaker]
        found.update(token for token in tokens(word.text) if token in tracked)
    return tuple(
        SpeakerCounts(speaker, dict(sorted(found.items(), key=lambda item: order[item[0]])))
        for speaker, found in counted.items()
    )


class _TurnsOf:
    """Each speaker's turns, indexed: ``of(word)`` is the first of ``turns`` (by index) of the
    word's speaker that holds the word's middle, or ``None``."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        by_speaker: dict[str, list[int]] = defaultdict(list)
        for index, turn in enumerate(turns):
            by_speaker[turn.speaker].append(index)
        self._of = {
            speaker: (indices, Spans([(turns[i].start, turns[i].end) for i in indices]))
            for speaker, indices in by_speaker.items()
        }

    def of(self, word: Word) -> int | None:
        if word.speaker not in self._of:
            return None
        indices, spans = self._of[word.speaker]
        inside = spans.holding((word.start + word.end) / 2)
        return indices[inside[0]] if inside else None


def segments(words: Sequence[Word], turns: Sequence[Turn]) -> tuple[Segment, ...]:
    """Transcript lines: consecutive words of one speaker within one of their turns.

    A word outside every turn of its speaker starts a line of its own rather than being lost.
    """
    ordered = sorted(turns, key=lambda turn: (turn.start, turn.end))
    lines: list[Segment] = []
    current: list[Word] = []
    current_turn: int | None = None
    turns_of = _TurnsOf(ordered)

    def close() -> None:
        if current:
            text = " ".join(word.text.strip() for word in current)
            lines.append(Segment(current[0].speaker, current[0].start, current[-1].end, text))
            current.clear()

    for word in sorted(words, key=lambda word: word.start):
        turn = turns_of.of(word)
        if current and (
            word.speaker != current[-1].speaker or turn != current_turn or turn is None
        ):
            close()
        current.append(word)
        current_turn = turn
    close()
    return tuple(lines)
