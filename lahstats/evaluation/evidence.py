"""What a recogniser writes for each target word, read off speech we generate ourselves.

The lexicon's variants and the corrector's thresholds must come from evidence that is not the
dev set. This runs the pipeline's diarizer and recogniser (the settings' backends) over a
generated set (``python -m lahstats.evaluation.generate``), aligns each reference line to what
was heard in its time span, and prints per target word:

- how often it was heard verbatim, and how often after correction (recall before / after);
- what the recogniser wrote instead when correction did not recover it (the candidates for new
  variants, with how often each spelling also stands for a non-target word elsewhere in the set,
  which is the false-positive risk of adopting it);
- every false target the corrector made, with what it was made from.

    python -m lahstats.evaluation.evidence GENERATED_DIR [--cache DIR] [--json OUT]

Use a generated set that is not the one you score on (for example tune on seeds 2-3 and score
on seed 1 and on ``../shared/data/dev``).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import pickle
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lahstats.lexicon.lexicon import Lexicon, load_lexicon
from lahstats.pipeline.count import tokens
from lahstats.pipeline.types import Word

if TYPE_CHECKING:
    from lahstats.evaluation.dataset import Recording
    from lahstats.pipeline.run import Models

ALIGN_SLACK = 0.25  # seconds a heard word may stray outside its reference line


def align(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int, int]]:
    """For each reference token, the hypothesis span ``[lo, hi)`` written for it.

    Tokens are matched by edit distance; between two matches, the run of reference tokens and
    the run of hypothesis tokens are split so that each reference token gets the contiguous
    stretch of letters closest to it ("shiok lah" / "she oak la" -> "she oak", "la").
    """
    n, m = len(reference), len(hypothesis)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(
                cost[i - 1][j - 1] + (0 if same else 1), cost[i - 1][j] + 1, cost[i][j - 1] + 1
            )
    i, j, matched = n, m, []
    while i > 0 and j > 0:
        if reference[i - 1] == hypothesis[j - 1] and cost[i][j] == cost[i - 1][j - 1]:
            matched.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j - 1] + 1:
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    matched.reverse()
    anchors = [(-1, -1), *matched, (n, m)]
    spans: list[tuple[int, int, int]] = []
    for (ri, hj), (rk, hl) in itertools.pairwise(anchors):
        if ri >= 0:
            spans.append((ri, hj, hj + 1))
        gap_ref = reference[ri + 1 : rk]
        cuts = _split(gap_ref, hypothesis[hj + 1 : hl])
        spans.extend(
            (ri + 1 + index, hj + 1 + lo, hj + 1 + hi) for index, (lo, hi) in enumerate(cuts)
        )
    return spans


def _split(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """Contiguous, in-order spans of ``hypothesis`` for each of ``reference`` (some may be
    empty) that minimise the letters' edit distance summed over the tokens."""
    k, m = len(reference), len(hypothesis)
    if not k:
        return []
    inf = float("inf")
    best = [[inf] * (m + 1) for _ in range(k + 1)]
    back = [[0] * (m + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for r in range(1, k + 1):
        for hi in range(m + 1):
            for lo in range(hi + 1):
                if best[r - 1][lo] == inf:
                    continue
                here = best[r - 1][lo] + _letters(reference[r - 1], "".join(hypothesis[lo:hi]))
                if here < best[r][hi]:
                    best[r][hi], back[r][hi] = here, lo
    spans, hi = [], m
    for r in range(k, 0, -1):
        lo = back[r][hi]
        spans.append((lo, hi))
        hi = lo
    return spans[::-1]


def _letters(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def heard_for(
    words: tuple[Word, ...], start: float, end: float, claimed: set[int]
) -> tuple[list[int], list[str]]:
    """Indices and tokens of the words whose middle lies in ``start..end`` (plus slack)."""
    picked = [
        index
        for index, word in enumerate(words)
        if index not in claimed and start - ALIGN_SLACK <= (word.start + word.end) / 2 <= end
    ]
    return picked, [token for index in picked for token in tokens(words[index].text)]


@dataclass
class Tally:
    """What was written for each reference word, over a whole set."""

    targets: frozenset[str]
    particles: frozenset[str]
    found: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    renderings: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )  # target -> spellings when correction did not recover it
    stands_for: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )  # spelling -> the reference words it was written for
    false: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # made, from, said
    # spellings put where a clause ends: every use, and those that meant a particle
    final_uses: Counter[str] = field(default_factory=Counter)
    final_particles: Counter[tuple[str, str]] = field(default_factory=Counter)

    def line(
        self, reference: list[str], raw: list[str], ends: list[bool], fixed: list[str]
    ) -> None:
        """One reference line against the raw tokens heard in it (``ends``: whether each
        ends a clause) and the corrected ones."""
        spans = zip(align(reference, raw), align(reference, fixed), strict=True)
        for (r, lo, hi), (_, flo, fhi) in spans:
            said = reference[r]
            written = " ".join(raw[lo:hi])
            self.stands_for[written][said] += 1
            for j in range(lo, hi):
                if ends[j] and raw[j] not in self.targets:
                    self.final_uses[raw[j]] += 1
                    if said in self.particles:
                        self.final_particles[(raw[j], said)] += 1
            if said not in self.targets:
                for made in fixed[flo:fhi]:
                    if made in self.targets:
                        self.false[(made, written, said)] += 1
                continue
            recovered = said in fixed[flo:fhi]
            self.found[said]["n"] += 1
            self.found[said]["heard"] += said in raw[lo:hi]
            self.found[said]["corrected"] += recovered
            if not recovered:
                self.renderings[said][written or "(nothing)"] += 1


def analyse(directory: Path, cache: Path | None) -> Tally:
    from lahstats.evaluation.dataset import load_dataset
    from lahstats.pipeline.correct import clause_ends, correct
    from lahstats.pipeline.particles import is_unwritten

    lexicon = _lexicon()
    tally = Tally(
        frozenset(lexicon.words),
        frozenset(entry.word for entry in lexicon.entries if entry.particle),
    )
    for recording in load_dataset(directory):
        # what the recogniser wrote: the read-out's particles are no spelling of anything
        heard = tuple(word for word in _heard(recording, cache) if not is_unwritten(word))
        assert recording.transcript is not None
        lines = json.loads(recording.transcript.read_text(encoding="utf-8"))["segments"]
        corrected = correct(heard, lexicon)
        ends = clause_ends(heard, lexicon)
        claimed: set[int] = set()
        claimed_fixed: set[int] = set()
        for line in sorted(lines, key=lambda line: line["start"]):
            picked, raw = heard_for(heard, line["start"], line["end"], claimed)
            claimed.update(picked)
            raw_ends = [ends[index] for index in picked for _ in tokens(heard[index].text)]
            # correction merges and splits words, so its words are picked by time too
            picked, fixed = heard_for(corrected, line["start"], line["end"], claimed_fixed)
            claimed_fixed.update(picked)
            tally.line(tokens(line["text"]), raw, raw_ends, fixed)
    return tally


def _heard(recording: Recording, cache: Path | None) -> tuple[Word, ...]:
    """The recogniser's words for a recording, from ``cache`` when it holds them."""
    from lahstats.pipeline.decode import decode_files
    from lahstats.pipeline.run import analyze_speech

    cached = None if cache is None else cache / f"{recording.id}.pkl"
    if cached is not None and cached.is_file():
        heard = pickle.loads(cached.read_bytes())  # noqa: S301 - our own cache
        # a cache of the experiments' kind also holds the turns
        return tuple(heard["heard"] if isinstance(heard, dict) else heard)
    heard = analyze_speech(_models(), decode_files([recording.audio])).heard
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(heard))
    return heard


@functools.cache
def _models() -> Models:
    from lahstats.pipeline.run import load_models
    from lahstats.settings import get_settings

    return load_models(get_settings())


@functools.cache
def _lexicon() -> Lexicon:
    return load_lexicon()


def report(result: Tally, out: Any = sys.stdout) -> None:
    found, renderings = result.found, result.renderings
    stands_for, false = result.stands_for, result.false
    total = Counter[str]()
    print(
        f"{'word':9s} {'n':>4s} {'heard':>6s} {'fixed':>6s}  missed as (times; share of uses "
        "of that spelling that meant this word)",
        file=out,
    )
    for word in _lexicon().words:
        tally = found.get(word, Counter())
        total.update(tally)
        n = tally["n"]
        if not n:
            continue
        missed = ", ".join(
            f"{spelling!r} {times}"
            + (
                f" ({stands_for[spelling][word] / sum(stands_for[spelling].values()):.0%})"
                if spelling in stands_for
                else ""
            )
            for spelling, times in renderings[word].most_common(6)
        )
        print(
            f"{word:9s} {n:4d} {tally['heard'] / n:6.0%} {tally['corrected'] / n:6.0%}  {missed}",
            file=out,
        )
    n = total["n"] or 1
    print(
        f"{'all':9s} {total['n']:4d} {total['heard'] / n:6.0%} {total['corrected'] / n:6.0%}",
        file=out,
    )
    print("\nclause-final spellings that meant a particle (2 or more times):", file=out)
    for (spelling, particle), times in result.final_particles.most_common():
        if times >= 2:
            uses = result.final_uses[spelling]
            print(f"  {spelling!r} -> {particle}: {times} of {uses} clause-final uses", file=out)
    print(f"\nfalse targets made by correction: {sum(false.values())}", file=out)
    for (made, written, said), times in false.most_common(25):
        print(f"  {made:8s} from {written!r} (said {said!r}) x{times}", file=out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--cache", type=Path, help="keep what was heard per recording here")
    parser.add_argument("--json", type=Path, help="also write the tallies as JSON")
    args = parser.parse_args(argv)
    result = analyse(args.directory, args.cache)
    report(result)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "found": result.found,
                    "renderings": result.renderings,
                    "false": [[*key, times] for key, times in result.false.items()],
                    "final_particles": [
                        [*key, times, result.final_uses[key[0]]]
                        for key, times in result.final_particles.items()
                    ],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
