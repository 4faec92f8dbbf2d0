"""Scores on hand-made turns and counts; every expected figure is worked out in the comments."""

from __future__ import annotations

import pytest

from lahstats.evaluation.metrics import (
    WordScores,
    der,
    map_speakers,
    normalise,
    speaker_count_accuracy,
    total_word_scores,
    wer,
    word_errors,
    word_scores,
)
from lahstats.pipeline.types import Turn

# A talks 0-10 s, B 10-20 s.
REFERENCE = (Turn("A", 0.0, 10.0), Turn("B", 10.0, 20.0))


def test_perfect_hypothesis_with_other_labels_has_no_error() -> None:
    result = der(REFERENCE, [Turn("x", 0.0, 10.0), Turn("y", 10.0, 20.0)])
    assert result.der == pytest.approx(0.0)
    assert result.total == pytest.approx(20.0)


def test_label_swapped_halfway_through_b_is_confusion() -> None:
    # x covers A (10 s) and the last 5 s of B; y the first 5 s of B. Best map x->A, y->B:
    # 15-20 s is B called x, 5 s of confusion out of 20 s of speech.
    hypothesis = [Turn("x", 0.0, 10.0), Turn("y", 10.0, 15.0), Turn("x", 15.0, 20.0)]
    result = der(REFERENCE, hypothesis)
    assert result.confusion == pytest.approx(5.0)
    assert result.missed == pytest.approx(0.0)
    assert result.false_alarm == pytest.approx(0.0)
    assert result.der == pytest.approx(0.25)


def test_missed_speech_and_false_alarm_are_counted_apart() -> None:
    # Silence 8-12 s where A and B spoke (4 s missed), speech 20-22 s where nobody did (2 s).
    result = der(REFERENCE, [Turn("x", 0.0, 8.0), Turn("y", 12.0, 22.0)], duration=22.0)
    assert (result.missed, result.false_alarm, result.confusion) == pytest.approx((4.0, 2.0, 0.0))
    assert result.der == pytest.approx(6.0 / 20.0)


def test_collar_forgives_a_late_boundary() -> None:
    # The change of speaker is heard 0.4 s late: 0.4 s of confusion without a collar.
    hypothesis = [Turn("x", 0.0, 10.4), Turn("y", 10.4, 20.0)]
    assert der(REFERENCE, hypothesis).der == pytest.approx(0.4 / 20.0)
    # pyannote's collar is the total width: 1.0 removes 0.5 s on each side of 0, 10 and 20 s
    # (inside the 0-20 s scored), leaving 18 s of speech and no error.
    collared = der(REFERENCE, hypothesis, collar=1.0)
    assert collared.total == pytest.approx(18.0)
    assert collared.der == pytest.approx(0.0)


def test_overlapped_speech_is_scored() -> None:
    # A 0-10 and B 5-15 overlap for 5 s: 20 s of reference speech. A single hypothesis speaker
    # 0-15 s maps to A or B (10 s each); either way 5 s are missed and 5 s confused.
    result = der([Turn("A", 0.0, 10.0), Turn("B", 5.0, 15.0)], [Turn("x", 0.0, 15.0)])
    assert result.total == pytest.approx(20.0)
    assert result.missed == pytest.approx(5.0)
    assert result.der == pytest.approx(0.5)


def test_empty_reference_is_defined() -> None:
    assert der([], [], duration=60.0).der == 0.0
    assert der([], []).total == 0.0
    noise = der([], [Turn("x", 10.0, 15.0)], duration=60.0)
    assert noise.false_alarm == pytest.approx(5.0)
    assert noise.total == 0.0
    assert noise.der == 1.0
    # Summed over recordings the false alarm still counts, as seconds: (5 + 0) / 20.
    assert (noise + der(REFERENCE, REFERENCE)).der == pytest.approx(0.25)


def test_mapping_leaves_extra_and_silent_hypothesis_speakers_out() -> None:
    hypothesis = [
        Turn("x", 0.0, 9.0),  # 9 s with A
        Turn("y", 9.0, 20.0),  # 1 s with A, 10 s with B
        Turn("z", 19.0, 20.0),  # 1 s with B, but y has B
        Turn("w", 30.0, 40.0),  # overlaps nobody
    ]
    assert map_speakers(REFERENCE, hypothesis) == {"x": "A", "y": "B"}


def test_mapping_maximises_total_overlap_not_each_speaker_greedily() -> None:
    # Greedy would give x (12 s with B) to B and leave y to A (2 s); the best one-to-one
    # assignment is x->A (8 s) and y->B (10 s): 18 s against 14 s.
    reference = [Turn("A", 0.0, 8.0), Turn("B", 8.0, 20.0)]
    hypothesis = [Turn("x", 0.0, 20.0), Turn("y", 8.0, 18.0), Turn("y", 0.0, 2.0)]
    assert map_speakers(reference, hypothesis) == {"x": "A", "y": "B"}


def test_mapping_with_fewer_hypothesis_speakers() -> None:
    assert map_speakers(REFERENCE, [Turn("x", 4.0, 20.0)]) == {"x": "B"}
    assert map_speakers(REFERENCE, []) == {}


def test_word_scores_through_the_mapping() -> None:
    reference = {"A": {"lah": 3, "lor": 1}, "B": {"lah": 1, "sia": 0}}
    hypothesis = {"x": {"lah": 2, "lor": 2}, "y": {"lah": 1, "sia": 1}, "z": {"can": 2}}
    scores = word_scores(reference, hypothesis, {"x": "A", "y": "B"})
    # A: lah tp 2 fn 1, lor tp 1 fp 1. B: lah tp 1, sia fp 1. z unmapped: can fp 2.
    assert (scores.tp, scores.fp, scores.fn) == (4, 4, 1)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.8)
    assert scores.f1 == pytest.approx(8 / 13)
    tallies = {word: (s.tp, s.fp, s.fn) for word, s in scores.per_word.items()}
    assert tallies == {"can": (0, 2, 0), "lah": (3, 0, 1), "lor": (1, 1, 0), "sia": (0, 1, 0)}


def test_reference_speaker_nobody_maps_to_is_all_misses() -> None:
    scores = word_scores({"A": {"lah": 2}, "B": {"lor": 3}}, {"x": {"lah": 2}}, {"x": "A"})
    assert (scores.tp, scores.fp, scores.fn) == (2, 0, 3)


def test_speaker_mapped_to_someone_without_ground_truth_only_adds_false_positives() -> None:
    scores = word_scores(
        {"A": {"lah": 1}}, {"x": {"lah": 1}, "y": {"lor": 1}}, {"x": "A", "y": "C"}
    )
    assert (scores.tp, scores.fp, scores.fn) == (1, 1, 0)


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "expected"),
    [
        pytest.param(0, 0, 0, (1.0, 1.0, 1.0), id="nothing-said-nothing-heard"),
        pytest.param(0, 0, 3, (1.0, 0.0, 0.0), id="nothing-heard"),
        pytest.param(0, 2, 0, (0.0, 1.0, 0.0), id="nothing-said"),
    ],
)
def test_ratios_without_a_denominator(
    tp: int, fp: int, fn: int, expected: tuple[float, float, float]
) -> None:
    scores = WordScores(tp, fp, fn)
    assert (scores.precision, scores.recall, scores.f1) == expected


def test_micro_average_sums_counts_not_ratios() -> None:
    perfect = word_scores({"A": {"lah": 1}}, {"x": {"lah": 1}}, {"x": "A"})
    poor = word_scores({"A": {"lah": 9}}, {"x": {"lah": 0}}, {"x": "A"})
    total = total_word_scores([perfect, poor])
    assert (total.tp, total.fn) == (1, 9)
    assert total.recall == pytest.approx(0.1)  # the mean of ratios would say 0.5
    assert total.per_word["lah"].fn == 9


def test_wer_normalises_with_the_counting_rule() -> None:
    assert normalise("Walao, CAN'T go lah!") == ["walao", "can't", "go", "lah"]
    assert wer("Hello, World.", "hello world") == 0.0
    # can't -> cant and lah -> la: two substitutions in four words.
    assert wer("Walao, can't go lah!", "walao cant go la") == pytest.approx(0.5)
    assert word_errors("one two three", "one three four five") == (3, 3)


def test_wer_without_reference_or_hypothesis() -> None:
    assert wer(None, "anything") is None
    assert wer("...", "anything") is None  # no words to score against
    assert wer("one two", "") == 1.0


def test_speaker_count_accuracy_over_known_references() -> None:
    assert speaker_count_accuracy([(2, 2), (3, 2), (None, 5), (1, 1)]) == pytest.approx(2 / 3)
    assert speaker_count_accuracy([(None, 1)]) is None
