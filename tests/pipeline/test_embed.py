"""Voice embeddings from the real WeSpeaker encoder: unit vectors that tell voices apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pytest
import soundfile as sf

from lahstats.pipeline import embed
from lahstats.pipeline.embed import SpeakerEmbedder, embed_speakers, load_embedder
from lahstats.pipeline.types import SAMPLE_RATE, Audio, Turn
from lahstats.settings import Settings


@pytest.fixture(scope="module")
def embedder() -> SpeakerEmbedder:
    return load_embedder(Settings())


@pytest.fixture(scope="module")
def conversation(two_speakers: tuple[Path, dict[str, Any]]) -> tuple[Audio, list[Turn]]:
    samples, rate = sf.read(two_speakers[0], dtype="float32", always_2d=True)
    mono = librosa.resample(samples.mean(axis=1), orig_sr=rate, target_sr=SAMPLE_RATE)
    turns = [Turn(t["speaker"], t["start"], t["end"]) for t in two_speakers[1]["turns"]]
    return Audio(np.ascontiguousarray(mono, dtype=np.float32)), turns


def test_one_unit_vector_per_speaker(
    embedder: SpeakerEmbedder, conversation: tuple[Audio, list[Turn]]
) -> None:
    audio, turns = conversation
    calls: list[tuple[str, int, int]] = []
    found = embed_speakers(embedder, audio, turns, on_progress=lambda *c: calls.append(c))

    assert [e.speaker for e in found] == ["A", "B"]
    for embedding in found:
        assert embedding.vector.dtype == np.float32
        assert embedding.vector.shape == (256,)
        assert np.linalg.norm(embedding.vector) == pytest.approx(1.0, abs=1e-5)
        assert embedding.model == embedder.name == "wespeaker-community1"
    assert calls[-1] == ("embed", 2, 2)


def test_the_same_voice_is_closer_than_another(
    embedder: SpeakerEmbedder, conversation: tuple[Audio, list[Turn]]
) -> None:
    audio, turns = conversation
    first_a, b, second_a = (embedder.embed(audio.slice(t.start, t.end)) for t in turns)

    same = float(first_a @ second_a)
    assert same > float(first_a @ b)
    assert same > float(second_a @ b)


def test_overlapped_speech_is_left_out_when_there_is_enough_clean(
    embedder: SpeakerEmbedder, conversation: tuple[Audio, list[Turn]]
) -> None:
    audio, turns = conversation
    # A "talks" across all of B's turn as well; B's voice must not pull A's vector towards it.
    stretched = [Turn("A", 0.0, audio.duration), turns[1]]
    clean = {e.speaker: e.vector for e in embed_speakers(embedder, audio, turns)}
    overlapped = {e.speaker: e.vector for e in embed_speakers(embedder, audio, stretched)}
    everything = embedder.embed(audio.samples)

    assert float(overlapped["A"] @ clean["A"]) > float(everything @ clean["A"])
    # B has no clean second left, so B keeps its whole (overlapped) turn rather than nothing
    assert float(overlapped["B"] @ clean["B"]) > 0.95


def test_no_turns_no_embeddings(embedder: SpeakerEmbedder) -> None:
    assert embed_speakers(embedder, Audio(np.zeros(SAMPLE_RATE, np.float32)), []) == ()


# librosa warns when the whole is shorter than one FFT (the reference); the blocks are never
@pytest.mark.filterwarnings("ignore:n_fft=400 is too large:UserWarning")
@pytest.mark.parametrize("seconds", [0.001, 0.0249, 0.025, 1.0, 7.01])
def test_mel_frames_a_block_at_a_time_are_librosas_frames_of_the_whole(
    seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = np.random.default_rng(1).standard_normal(round(seconds * 16_000)).astype(np.float32)
    whole = librosa.feature.melspectrogram(
        y=samples, sr=16_000, n_fft=400, hop_length=160, n_mels=40
    )
    for block in (7, 100, 8192):  # blocks that cut the frames anywhere, and one block
        monkeypatch.setattr(embed, "_BLOCK_FRAMES", block)
        frames = embed.mel_frames(samples)
        assert frames.shape == whole.T.shape
        assert frames.dtype == np.float32
        np.testing.assert_allclose(frames, whole.T, rtol=1e-5, atol=1e-6 * whole.max())
