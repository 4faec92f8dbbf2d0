"""Voice matching as pure functions: robust voiceprints, one-to-one suggestions, confidence."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from lahstats.speakers.matching import confidence, robust_average, suggest, unit

RNG = np.random.default_rng(7)


def near(base: np.ndarray, noise: float) -> np.ndarray:
    return unit(base + RNG.normal(0, noise, base.shape).astype(np.float32))


BASE_A = unit(RNG.normal(size=64).astype(np.float32))
BASE_B = unit(RNG.normal(size=64).astype(np.float32))


def test_a_voiceprint_leaves_out_a_wrongly_claimed_voice() -> None:
    mine = [near(BASE_A, 0.05) for _ in range(5)]
    average, kept = robust_average([*mine, BASE_B])
    assert kept == 5
    plain = unit(np.mean([*mine, BASE_B], axis=0))
    assert float(average @ BASE_A) > float(plain @ BASE_A)
    assert float(average @ BASE_A) > 0.97


def test_two_voices_are_averaged_without_judging_either() -> None:
    average, kept = robust_average([BASE_A, BASE_B])
    assert kept == 2
    assert float(average @ BASE_A) == pytest.approx(float(average @ BASE_B), abs=1e-5)


def test_a_voice_that_changes_keeps_most_of_its_embeddings() -> None:
    # Half one way, half another (a cold, a new phone): at most a third is ever dropped.
    vectors = [near(BASE_A, 0.05) for _ in range(3)] + [near(BASE_B, 0.05) for _ in range(3)]
    assert robust_average(vectors)[1] >= 4


def test_a_voiceprint_needs_an_embedding() -> None:
    with pytest.raises(ValueError, match="at least one"):
        robust_average([])


def test_each_member_is_suggested_for_one_speaker_at_most_and_the_best_match_wins() -> None:
    ana, ben = uuid.uuid4(), uuid.uuid4()
    close, closer, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    found = suggest(
        {close: near(BASE_A, 0.3), closer: near(BASE_A, 0.05), stranger: near(BASE_B, 0.05)},
        {ana: BASE_A},
        threshold=0.5,
        scale=0.1,
    )
    assert set(found) == {closer}
    assert found[closer].user_id == ana
    # Ben's print matches the stranger: each speaker gets its own member.
    found = suggest(
        {closer: near(BASE_A, 0.05), stranger: near(BASE_B, 0.05)},
        {ana: BASE_A, ben: BASE_B},
        threshold=0.5,
        scale=0.1,
    )
    assert {speaker: s.user_id for speaker, s in found.items()} == {closer: ana, stranger: ben}


def test_nobody_is_suggested_below_the_threshold() -> None:
    speaker = uuid.uuid4()
    voice = near(BASE_A, 0.05)
    similarity = float(voice @ BASE_A)
    assert (
        suggest({speaker: voice}, {uuid.uuid4(): BASE_A}, threshold=similarity + 0.01, scale=0.1)
        == {}
    )
    assert set(
        suggest({speaker: voice}, {uuid.uuid4(): BASE_A}, threshold=similarity - 0.01, scale=0.1)
    ) == {speaker}


def test_confidence_is_one_half_at_the_threshold_and_rises_with_similarity() -> None:
    assert confidence(0.6, threshold=0.6, scale=0.1) == pytest.approx(0.5)
    values = [confidence(s, threshold=0.6, scale=0.1) for s in (0.6, 0.7, 0.8, 0.95)]
    assert values == sorted(values)
    assert 0.9 < values[-1] < 1.0
