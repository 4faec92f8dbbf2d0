"""The particle read-out's training speech: its own sentences, and labels where particles are."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from lahstats.evaluation import generate, particle_training
from lahstats.evaluation.synthesis import Voice
from lahstats.pipeline.count import tokens
from lahstats.pipeline.particles import FRAME_RATE, LABELS, WORD_LABELS

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"


def test_training_clauses_are_neither_the_evaluation_generators_nor_particles() -> None:
    ours = {" ".join(tokens(clause)) for clause in particle_training.CLAUSES}
    assert not ours & {" ".join(tokens(clause)) for clause in generate.CLAUSES}
    for text in (*particle_training.CLAUSES, *particle_training.NO_PARTICLE_ENDINGS):
        assert not set(tokens(text)) & set(LABELS[1:]), text


@pytest.mark.skipif(not (DEV / "index.json").is_file(), reason=f"dev set not found at {DEV}")
def test_no_dev_sentence_is_a_training_clause() -> None:
    dev = " | ".join(
        " ".join(tokens(segment["text"]))
        for transcript in DEV.glob("synthetic/**/*.transcript.json")
        for segment in json.loads(transcript.read_text())["segments"]
    )
    assert not [c for c in particle_training.CLAUSES if " ".join(tokens(c)) in dev]


def test_items_end_pieces_with_their_particle() -> None:
    rng = random.Random(3)
    for _ in range(200):
        for piece in particle_training.pieces(rng):
            said = tokens(piece.text)
            if piece.particle:
                spellings = {tokens(s)[-1] for s in generate.SPOKEN[piece.particle]}
                assert said[-1] in spellings, piece
            else:
                assert not set(said) & set(LABELS[1:]), piece


def test_word_items_end_their_piece_with_the_word_and_look_alikes_hold_no_target() -> None:
    targets = set(generate.TARGETS)
    for text in particle_training.WORD_LOOKALIKES:
        assert not set(tokens(text)) & targets, text
    rng = random.Random(5)
    seen = set()
    for _ in range(400):
        item = particle_training.word_pieces(rng)
        for piece in item:
            if piece.particle:
                seen.add(piece.particle)
                assert piece.said in particle_training.SPOKEN[piece.particle]
                lead = piece.text.rstrip(".,").lower()
                assert lead.endswith(piece.said), piece
                # the rest of the piece holds no target ("kee ah see" is the word's own "ah")
                assert not set(tokens(lead[: -len(piece.said)])) & targets, piece
            else:  # particles are "none" to the words' read-out
                assert not set(tokens(piece.text)) & (targets - set(LABELS)), piece
    assert seen == set(WORD_LABELS[1:])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_a_region_labels_its_words_with_the_words_labels() -> None:
    made = particle_training.region(
        random.Random(6),
        Voice("espeak", "en-us"),
        seconds=12.0,
        labels=WORD_LABELS,
        items=particle_training.word_pieces,
    )
    assert set(np.unique(made.labels)) <= {-1, *range(len(WORD_LABELS))}
    assert (made.labels > 0).any()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_a_region_labels_its_particles_at_the_ends_of_their_pieces() -> None:
    made = particle_training.region(random.Random(4), Voice("espeak", "en-us"), seconds=12.0)
    assert made.audio.dtype == np.float32
    assert len(made.labels) == int(len(made.audio) / 16_000 * FRAME_RATE)
    assert set(np.unique(made.labels)) <= {-1, *range(len(LABELS))}
    # speech is labelled, the silence before the first word is not used
    assert made.labels[0] == -1
    assert (made.labels == 0).sum() > FRAME_RATE
    particle_frames = np.flatnonzero(made.labels > 0)
    assert len(particle_frames) > 0
    # each run of particle frames is followed by unused edge frames, then silence or a piece
    for frame in particle_frames:
        assert made.labels[min(frame + 8, len(made.labels) - 1)] in (-1, made.labels[frame])


def test_the_fitted_read_out_tells_apart_what_it_was_shown() -> None:
    # 12 features per frame, each label's frames around a point of its own
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((len(LABELS), 12)) * 3
    y = np.repeat(np.arange(len(LABELS)), 40)
    x = (centres[y] + rng.standard_normal((len(y), 12))).astype(np.float16)
    readout = particle_training.fit(x, y, strength=1.0)
    assert readout.weights.shape == (len(LABELS), 12)
    logits = ((centres.astype(np.float32) - readout.mean) / readout.scale) @ readout.weights.T
    assert (np.argmax(logits + readout.bias, axis=1) == np.arange(len(LABELS))).all()


def test_reverberant_speech_keeps_its_length_and_peak_and_rings_on_after_a_click() -> None:
    click = np.zeros(16_000, np.float32)
    click[1_000] = 0.5
    heard = particle_training.reverberant(click, np.random.default_rng(3))
    assert heard.dtype == np.float32
    assert len(heard) == len(click)
    assert np.isclose(np.abs(heard).max(), 0.5)
    # nothing before the sound, a tail of energy after it that dies away
    assert np.abs(heard[:1_000]).max() < 1e-6
    tail = heard[1_100:]
    assert (tail**2).sum() > 0
    assert (tail[:1_600] ** 2).sum() > (tail[-1_600:] ** 2).sum()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_talked_over_speech_keeps_the_region_and_adds_another_voice_near_its_level() -> None:
    region = particle_training.region(random.Random(5), Voice("espeak", "en-us"), seconds=6.0)
    over = particle_training.talked_over(region.audio, random.Random(1), Voice("espeak", "en+f3"))
    assert over.dtype == np.float32
    assert len(over) == len(region.audio)
    added = over - region.audio
    assert np.abs(added).max() > 0.01  # another voice talks somewhere
    assert (np.abs(added) < 1e-6).mean() > 0.05  # with pauses: not everywhere

    def level(audio: np.ndarray) -> float:
        return float(np.sqrt(np.mean(audio[np.abs(audio) > 1e-4] ** 2)))

    # from 5 dB under to 5 dB over the region's own speech (a little slack for the pauses)
    assert 10 ** (-6 / 20) < level(added) / level(region.audio) < 10 ** (6 / 20)
