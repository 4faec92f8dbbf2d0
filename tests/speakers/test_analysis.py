"""``speakers.analysis``: spread, nearest voice, margin, silhouette, warnings."""

from __future__ import annotations

import uuid

import numpy as np

from lahstats.speakers.analysis import analyse
from lahstats.speakers.matching import to_bytes, unit
from lahstats.storage.repositories.voices import StoredEmbedding

RNG = np.random.default_rng(3)


def stored(
    user: uuid.UUID, voice: np.ndarray, n: int, noise: float = 0.05
) -> list[StoredEmbedding]:
    return [
        StoredEmbedding(
            user_id=user,
            model="m",
            vector=to_bytes(unit(voice + RNG.normal(0, noise, voice.shape))),
            source="speaker",
            source_id=uuid.uuid4(),
        )
        for _ in range(n)
    ]


def test_distinct_voices_cluster_well_and_raise_no_warning() -> None:
    ana, ben = uuid.uuid4(), uuid.uuid4()
    a, b = unit(RNG.normal(size=32)), unit(RNG.normal(size=32))
    (result,) = analyse(
        stored(ana, a, 4) + stored(ben, b, 3), {ana: "Ana", ben: "Ben"}, threshold=0.6
    )
    assert result.model == "m"
    assert result.silhouette is not None
    assert result.silhouette > 0.7
    assert result.warnings == []
    by_name = {u.name: u for u in result.users}
    assert by_name["Ana"].embeddings == 4
    assert by_name["Ana"].nearest_name == "Ben"
    assert by_name["Ana"].margin is not None
    assert by_name["Ana"].margin > 0.5
    assert by_name["Ana"].spread < 0.1


def test_voices_too_close_to_tell_apart_are_warned_about() -> None:
    ana, twin = uuid.uuid4(), uuid.uuid4()
    a = unit(RNG.normal(size=32))
    (result,) = analyse(
        stored(ana, a, 3) + stored(twin, a, 3), {ana: "Ana", twin: "Twin"}, threshold=0.6
    )
    assert result.silhouette is not None
    assert result.silhouette < 0.2
    assert any("too alike" in w for w in result.warnings)
    assert len([w for w in result.warnings if "too alike" in w]) == 1  # once per pair


def test_one_voice_has_no_silhouette_and_no_nearest() -> None:
    ana = uuid.uuid4()
    (result,) = analyse(stored(ana, unit(RNG.normal(size=32)), 2), {ana: "Ana"}, threshold=0.6)
    assert result.silhouette is None
    assert result.users[0].nearest_user_id is None
    assert result.users[0].margin is None
