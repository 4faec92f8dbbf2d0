"""Which of many time spans hold a moment, and which lie nearest it, in O(log n) a question.

Giving each of a session's words to a turn asked every word about every turn: fine for a
minute, most of a 3-hour session's end step (``python -m benchmarks.assembly``: 27,761 words,
assembly 45 s at 180 minutes, 1.3 s with this). ``Spans`` answers the same questions from spans
sorted by start and the furthest end reached so far, so the answers, ties included, are those
of the plain loops over the spans in the order given (``tests/pipeline/test_intervals.py``
checks this against them).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from lahstats.pipeline.types import Turn

# Bounds found by bisection are widened by this much, then each span is checked with the exact
# comparison the plain loop makes: ``start - slack <= t`` and ``start <= t + slack`` may differ
# in the last bit.
_WIDEN = 1e-9
# Seconds within which a turn counts as around a word (``speaker_at``). A word in an overlap went
# to the turn it lay deepest in (the voice mid-sentence) until measured: with the shipped turns
# (summed word F1, deepest -> the voice that came in last, with this slack / without it) seed 2
# of the person-distinct generator 0.836 -> 0.861 / 0.852, its seed 1 0.835 -> 0.841 / 0.841,
# the older seeds 2 and 1 0.821 -> 0.828 and 0.830 -> 0.836, dev 0.786 -> 0.797; with the
# reference turns too (0.875 -> 0.882, 0.852 -> 0.852, dev 0.794 -> 0.802).
COVER_SLACK = 0.05


class Spans:
    """``(start, end)`` spans, indexed by start; answers name spans by their index as given."""

    def __init__(self, spans: Sequence[tuple[float, float]]) -> None:
        self.spans = list(spans)
        self._order = sorted(range(len(self.spans)), key=lambda i: (self.spans[i][0], i))
        self._starts = [self.spans[i][0] for i in self._order]
        # _reach[k]: the furthest end among the first k + 1 spans by start, and (the smallest
        # index of) a span that reaches it
        self._reach: list[float] = []
        self._reacher: list[int] = []
        for i in self._order:
            end = self.spans[i][1]
            if not self._reach or end > self._reach[-1]:
                self._reach.append(end)
                self._reacher.append(i)
            else:
                reacher = self._reacher[-1]
                self._reach.append(self._reach[-1])
                self._reacher.append(min(reacher, i) if end == self._reach[-1] else reacher)

    def __len__(self) -> int:
        return len(self.spans)

    def holding(self, at: float, slack: float = 0.0) -> list[int]:
        """The spans with ``start - slack <= at <= end + slack``, by index as given."""
        found = []
        k = bisect.bisect_right(self._starts, at + slack + _WIDEN) - 1
        while k >= 0 and self._reach[k] >= at - slack - _WIDEN:
            i = self._order[k]
            start, end = self.spans[i]
            if start - slack <= at <= end + slack:
                found.append(i)
            k -= 1
        return sorted(found)

    def nearest(self, at: float) -> list[int]:
        """Spans among which the one that reaches deepest around ``at`` is: those holding it,
        the one ending last of those starting at or before it, the first starting after it."""
        found = set(self.holding(at))
        k = bisect.bisect_right(self._starts, at)
        if k > 0:
            found.add(self._reacher[k - 1])
        if k < len(self._order):
            found.add(self._order[k])
        return sorted(found)


def speaker_at(start: float, end: float, turns: Sequence[Turn] | TurnIndex) -> str | None:
    """The speaker of the turn around the middle of ``start..end``.

    Where two voices overlap there, the word belongs to the one whose turn began last: the reply
    or backchannel that came in ("Walao." over the end of someone's sentence), not the voice
    finishing. Turns within ``COVER_SLACK`` s count, as the diarizer's second voice in an overlap
    comes as runs a few frames apart. Elsewhere the turn the middle lies deepest in wins, and a
    word just outside every turn goes to the nearest one; ``None`` only when there are no turns.
    Asking about many words: pass a ``TurnIndex`` of the turns, built once.
    """
    index = turns if isinstance(turns, TurnIndex) else TurnIndex(turns)
    return index.speaker_at(start, end)


class TurnIndex:
    """Turns indexed by time, for ``speaker_at`` in O(log n) a word."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = tuple(turns)
        self._spans = Spans([(turn.start, turn.end) for turn in self.turns])

    def speaker_at(self, start: float, end: float) -> str | None:
        middle = (start + end) / 2
        covering = [self.turns[i] for i in self._spans.holding(middle, COVER_SLACK)]
        if len({turn.speaker for turn in covering}) > 1:
            return max(covering, key=lambda turn: turn.start).speaker
        best: tuple[float, str] | None = None
        for turn in (self.turns[i] for i in self._spans.nearest(middle)):
            depth = min(middle - turn.start, turn.end - middle)
            if best is None or depth > best[0]:
                best = (depth, turn.speaker)
        return None if best is None else best[1]
