"""The particle read-out: pooling, peak picking, merging with what the recogniser wrote, loading,
and the shipped read-out on real encoder frames of the two-speaker fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.particles import (
    FRAME_RATE,
    LABELS,
    THRESHOLDS,
    UNSURE,
    UNWRITTEN,
    WORD_LABELS,
    WORD_SPACING,
    ParticleReadout,
    bundled_readout,
    bundled_word_readout,
    is_unwritten,
    peaks,
    pooled,
    with_particles,
)
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import Turn, Word

LEXICON = load_lexicon()
TRACKED = frozenset(LEXICON.words)


def _posteriors(frames: int, spikes: dict[int, tuple[str, float]]) -> np.ndarray[Any, Any]:
    posteriors = np.zeros((frames, len(LABELS)), np.float32)
    posteriors[:, 0] = 1.0
    for frame, (label, probability) in spikes.items():
        posteriors[frame] = (1 - probability) / (len(LABELS) - 1)
        posteriors[frame, LABELS.index(label)] = probability
    return posteriors


def test_each_frame_is_pooled_with_the_frames_around_before_and_after_it() -> None:
    frames = np.arange(100, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    out = pooled(frames)
    assert out.shape == (100, 6)
    assert out[50, 0] == pytest.approx(np.mean(np.arange(45, 56)))
    assert out[50, 2] == pytest.approx(np.mean(np.arange(30, 45)))
    assert out[50, 4] == pytest.approx(np.mean(np.arange(56, 71)))
    # at the edges the windows shrink rather than read past the frames
    assert out[0, 0] == pytest.approx(np.mean(np.arange(0, 6)))


def test_peaks_keep_the_strongest_of_close_ones_and_nothing_under_the_threshold() -> None:
    posteriors = _posteriors(
        200, {20: ("lah", 0.95), 30: ("lor", 0.99), 100: ("meh", 0.97), 150: ("sia", 0.5)}
    )
    found = peaks(posteriors, threshold=0.9)
    assert [(p.particle, p.at) for p in found] == [("lor", 30 / FRAME_RATE), ("meh", 2.0)]
    assert peaks(posteriors, threshold=0.999) == []
    assert peaks(np.zeros((0, len(LABELS)), np.float32)) == []


def _word(text: str, at: float, speaker: str = "A", heard: str | None = None) -> Word:
    return Word(text, at, at + 0.2, speaker, 0.99, heard)


def test_a_heard_particle_is_added_unless_the_same_speaker_wrote_it_close_by() -> None:
    written = [_word("Okay", 0.5), _word("lah.", 1.0), _word("so", 3.0, "B")]
    written.append(_word("far", 3.3, "B"))
    unwritten = [
        _word("lah", 1.3, heard=UNWRITTEN),  # the written one, again
        _word("lah", 1.3, "B", heard=UNWRITTEN),  # someone else's
        _word("sia", 3.6, "B", heard=UNWRITTEN),  # nobody wrote it
        _word("ah", 1.1, heard=UNWRITTEN),  # "lah" written there is not "ah"
    ]
    merged = with_particles(written, unwritten, TRACKED)
    assert [(w.text, w.speaker) for w in merged] == [
        ("Okay", "A"),
        ("lah.", "A"),
        ("ah", "A"),
        ("lah", "B"),
        ("so", "B"),
        ("far", "B"),
        ("sia", "B"),
    ]
    assert with_particles(written, unwritten, frozenset({"walao"})) == tuple(written)


def test_recount_counts_heard_particles_as_said_and_never_corrects_them() -> None:
    # Written mid-clause, "lor" is the recogniser's misspelt "lower" and is not counted; heard by
    # the read-out (nothing written), it is a particle wherever it falls.
    heard = [
        _word("the", 0.0),
        _word("price", 0.3),
        _word("lor", 0.6),
        _word("online.", 0.9),
        _word("go", 2.0),
        _word("lor", 2.2, heard=UNWRITTEN),
        _word("home", 2.4),
    ]
    turns = [Turn("A", 0.0, 3.0)]
    result = recount(heard, turns, LEXICON)
    (counts,) = result.counts
    assert dict(counts.counts) == {"lor": 1}
    assert [w.text for w in result.words if is_unwritten(w)] == ["lor"]


def test_a_missing_or_mismatched_read_out_says_how_to_remake_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as missing:
        ParticleReadout.load(tmp_path / "nothing.npz")
    assert "particle_training" in missing.value.hint
    shipped = bundled_readout()
    wrong = tmp_path / "wrong.npz"
    np.savez(
        wrong,
        mean=shipped.mean,
        scale=shipped.scale,
        weights=shipped.weights[:3],
        bias=shipped.bias[:3],
        labels=np.array(LABELS[:3]),
    )
    with pytest.raises(ModelUnavailable) as mismatched:
        ParticleReadout.load(wrong)
    assert "other labels" in mismatched.value.message


def test_the_words_read_out_loads_with_its_own_labels_only(tmp_path: Path) -> None:
    words = bundled_word_readout()
    assert words.labels == WORD_LABELS
    assert words.posteriors(np.zeros((5, len(words.mean) // 3))).shape == (5, len(WORD_LABELS))
    words.save(tmp_path / "words.npz")
    with pytest.raises(ModelUnavailable):  # the particles' labels were asked for
        ParticleReadout.load(tmp_path / "words.npz")


def test_a_saved_read_out_loads_back_the_same(tmp_path: Path) -> None:
    shipped = bundled_readout()
    shipped.save(tmp_path / "copy.npz")
    again = ParticleReadout.load(tmp_path / "copy.npz")
    frames = np.random.default_rng(0).standard_normal((40, len(shipped.mean) // 3))
    assert np.allclose(again.posteriors(frames), shipped.posteriors(frames))
    assert np.allclose(again.posteriors(frames).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_the_shipped_read_out_hears_the_fixtures_particles_in_whisper_base_frames(
    two_speakers: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from lahstats.pipeline.recognisers.whisper import ListeningWhisper, bundled_base

    model = ListeningWhisper(
        str(bundled_base(tmp_path)), device="cpu", compute_type="int8", local_files_only=True
    )
    path, truth = two_speakers
    samples, _ = sf.read(path, dtype="float32")
    readout = bundled_readout()
    words = bundled_word_readout()
    heard: dict[str, list[str]] = {}
    for turn in truth["turns"]:
        clip = samples[int(turn["start"] * 16_000) : int(turn["end"] * 16_000)]
        frames = model.encode_clip(clip)[: int(len(clip) / 16_000 * FRAME_RATE)]
        found = peaks(readout.posteriors(frames))
        found += peaks(words.posteriors(frames), spacing=WORD_SPACING, labels=WORD_LABELS)
        heard[turn["text"]] = [p.particle for p in found if p.probability >= THRESHOLDS[p.particle]]
    # "Walao, ...very long one lah." and "Okay lor, can or not?..." each carry their particle,
    # the first its word too; the third turn has none.
    first, second, third = (turn["text"] for turn in truth["turns"])
    assert "lah" in heard[first]
    assert "walao" in heard[first]
    assert "lor" in heard[second]
    assert heard[third] == []


def test_a_heard_particle_counts_only_from_its_own_threshold() -> None:
    unwritten = [
        Word("sia", 1.0, 1.2, "A", 0.8, UNWRITTEN),
        Word("lah", 2.0, 2.2, "A", 0.8, UNWRITTEN),
    ]
    merged = with_particles([], unwritten, TRACKED, {"sia": 0.9, "lah": 0.7})
    assert [w.text for w in merged] == ["lah"]


def test_a_heard_word_is_added_where_nobody_wrote_it_and_written_words_are_never_refused() -> None:
    written = [_word("So", 0.0), _word("shiok.", 0.3), _word("very", 2.0), _word("Shia.", 2.3)]
    unwritten = [
        _word("shiok", 0.35, heard=UNWRITTEN),  # the written one, heard too
        _word("shiok", 2.35, heard=UNWRITTEN),  # "Shia" was shiok
        _word("sian", 4.0, heard=UNWRITTEN),  # too unsure for its threshold
    ]
    thresholds = {"shiok": 0.9, "sian": 0.999}
    merged = with_particles(written, unwritten, TRACKED, thresholds)
    assert [w.text for w in merged] == ["So", "shiok.", "very", "Shia.", "shiok"]
    # a written word the words' read-out did not hear stays
    assert with_particles(written, [], TRACKED, thresholds) == tuple(written)


def test_a_written_sian_counts_only_where_the_words_read_out_heard_it_too() -> None:
    # "Sian went for his medical check up": the name Sean, written as the primed word
    written = [_word("Sian", 1.0), _word("went", 1.3), _word("so", 4.0), _word("sian.", 4.3)]
    listened_to = Word("", 0.0, 6.0, "", 1.0, UNWRITTEN)
    heard = [Word("sian", 4.35, 4.55, "A", 0.7, UNWRITTEN)]  # under its threshold, yet heard
    merged = with_particles(written, [listened_to, *heard], TRACKED)
    assert [w.text for w in merged] == ["went", "so", "sian."]
    # where no read-out listened (a recognition stored before them), it counts as written
    assert with_particles(written, [], TRACKED) == tuple(written)


def test_a_heard_sia_inside_a_heard_word_is_that_words_syllable() -> None:
    unwritten = [
        Word("sian", 1.0, 1.2, "A", 0.995, UNWRITTEN),  # the words' read-out: "So sian"
        Word("sia", 1.3, 1.5, "A", 0.999, UNWRITTEN),  # the particles' read-out, same sound
        Word("sia", 3.0, 3.2, "A", 0.999, UNWRITTEN),  # "So hot sia": no word there
        Word("kiasi", 5.0, 5.2, "B", 0.7, UNWRITTEN),  # a word too unsure to count...
        Word("sia", 5.2, 5.4, "B", 0.999, UNWRITTEN),  # ...leaves the particle as it was
    ]
    merged = with_particles([], unwritten, TRACKED)
    assert [(w.text, w.start) for w in merged] == [("sian", 1.0), ("sia", 3.0), ("sia", 5.2)]


def test_a_word_written_unsure_counts_only_where_a_read_out_heard_it() -> None:
    # A prompted recogniser writes its example's words over speech where none was said, unsure
    listened_to = Word("", 0.0, 9.0, "", 1.0, UNWRITTEN)
    written = [
        Word("bojio", 1.0, 1.3, "A", 0.01, None),  # unsure, not heard: refused
        Word("Paiseh", 3.0, 3.3, "A", 0.05, None),  # unsure, heard (under its threshold): kept
        Word("cheebai", 5.0, 5.3, "A", UNSURE, None),  # sure enough: kept unheard
        Word("can", 7.0, 7.2, "A", 0.01, None),  # "can" is never refused so
    ]
    heard = [Word("paiseh", 3.1, 3.3, "A", 0.6, UNWRITTEN)]
    merged = with_particles(written, [listened_to, *heard], TRACKED)
    assert [w.text for w in merged] == ["Paiseh", "cheebai", "can"]
    # where no read-out listened, every written word counts
    assert with_particles(written, [], TRACKED) == tuple(written)
