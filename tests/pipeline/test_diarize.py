"""The diarize stage on the real silero VAD and resemblyzer: who speaks when, hints, silence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import ModelUnavailable
from lahstats.pipeline.diarize import (
    Diarizer,
    EmbeddedDiarizer,
    _short_utterances,
    diarize,
    load_diarizer,
    short_spans,
)
from lahstats.pipeline.embed import load_embedder
from lahstats.pipeline.types import SAMPLE_RATE, Audio, SpeakerHints, Turn
from lahstats.pipeline.wespeaker import WeSpeakerVoice
from lahstats.settings import Settings


def read_audio(path: Path) -> Audio:
    """Decode as the tests of every stage do while the decode stage is built beside them."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE)
    return Audio(np.ascontiguousarray(mono, dtype=np.float32))


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return load_diarizer(Settings())


@pytest.fixture(scope="module")
def conversation(two_speakers: tuple[Path, dict[str, Any]]) -> Audio:
    return read_audio(two_speakers[0])


def speakers(turns: tuple[Turn, ...]) -> list[str]:
    return list(dict.fromkeys(turn.speaker for turn in turns))


def test_speech_of_the_fixture_is_found_with_turn_edges_near_the_truth(
    diarizer: Diarizer, conversation: Audio, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    turns = diarize(diarizer, conversation)

    assert list(turns) == sorted(turns, key=lambda turn: turn.start)
    # The fixture's two espeak-ng voices differ in little but pitch, and WeSpeaker (trained on
    # real voices) hears them as one: who is who is tested on real speech below.
    for truth in two_speakers[1]["turns"]:
        found = [t for t in turns if t.start < truth["end"] and t.end > truth["start"]]
        assert min(t.start for t in found) == pytest.approx(truth["start"], abs=0.5), turns
        assert max(t.end for t in found) == pytest.approx(truth["end"], abs=0.5), turns


def test_a_real_two_person_recording_has_two_speakers_in_the_right_places(
    diarizer: Diarizer, shared_data: Path
) -> None:
    folder = shared_data / "dev" / "real" / "pyannote_sample"
    audio = read_audio(folder / "sample.wav")
    truth = [line.split() for line in (folder / "sample.rttm").read_text().splitlines()]

    turns = diarize(diarizer, audio)

    assert speakers(turns) == ["SPEAKER_00", "SPEAKER_01"]
    # every 10 ms where exactly one reference speaker talks: the hypothesis speaker most often
    # heard with each reference speaker must differ, and be right on 90 % of such frames
    frames = np.arange(round(audio.duration * 100)) / 100
    who = np.full(len(frames), "", dtype=object)
    count = np.zeros(len(frames), int)
    for fields in truth:
        start, length = float(fields[3]), float(fields[4])
        inside = (frames >= start) & (frames < start + length)
        who[inside], count[inside] = fields[7], count[inside] + 1
    heard = np.full(len(frames), "", dtype=object)
    for turn in turns:
        heard[(frames >= turn.start) & (frames < turn.end)] = turn.speaker
    single = count == 1
    pairs = {
        (ref, hyp): int(((who == ref) & (heard == hyp) & single).sum())
        for ref in ("speaker90", "speaker91")
        for hyp in ("SPEAKER_00", "SPEAKER_01")
    }
    mapping = {
        ref: max(speakers(turns), key=lambda hyp: pairs[ref, hyp])
        for ref in ("speaker90", "speaker91")
    }
    assert len(set(mapping.values())) == 2, pairs
    assert sum(pairs[ref, hyp] for ref, hyp in mapping.items()) >= 0.9 * single.sum(), pairs


def test_hints_set_the_number_of_speakers(diarizer: Diarizer, conversation: Audio) -> None:
    assert speakers(diarize(diarizer, conversation, SpeakerHints(exact=1))) == ["SPEAKER_00"]
    assert len(speakers(diarize(diarizer, conversation, SpeakerHints(maximum=1)))) == 1
    assert len(speakers(diarize(diarizer, conversation, SpeakerHints(minimum=3)))) == 3


def test_silence_noise_and_nothing_give_no_turns(diarizer: Diarizer) -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.1, 10 * SAMPLE_RATE).astype(np.float32)  # -20 dBFS white noise
    assert diarize(diarizer, Audio(np.zeros(10 * SAMPLE_RATE, np.float32))) == ()
    assert diarize(diarizer, Audio(noise)) == ()
    assert diarize(diarizer, Audio(np.zeros(0, np.float32))) == ()


def test_progress_is_reported_and_the_encoder_is_shared(
    diarizer: Diarizer, conversation: Audio
) -> None:
    calls: list[tuple[str, int, int]] = []
    diarize(diarizer, conversation, on_progress=lambda *call: calls.append(call))

    assert calls[-1] == ("diarize", 3, 3)
    assert {stage for stage, _, _ in calls} == {"diarize"}
    assert isinstance(diarizer, EmbeddedDiarizer)
    # Speaker embeddings (voiceprints) reuse the diarizer's WeSpeaker model, loaded once.
    embedder = load_embedder(Settings())
    assert isinstance(embedder, WeSpeakerVoice)
    assert embedder.encoder is diarizer.voices


def test_pyannote_without_a_model_says_which_setting_to_give() -> None:
    with pytest.raises(ModelUnavailable) as raised:
        load_diarizer(Settings(diarizer="pyannote"))
    assert raised.value.message == "LAHSTATS_DIARIZER_MODEL is not set"
    assert "models download" in raised.value.hint


def test_sixty_seconds_of_digital_silence_has_nobody_in_it(
    diarizer: Diarizer, shared_data: Path
) -> None:
    audio = read_audio(shared_data / "dev" / "adversarial" / "silence_60s.wav")
    assert audio.duration == pytest.approx(60.0, abs=0.1)
    assert diarize(diarizer, audio) == ()


def test_a_short_reply_between_another_voices_turns_is_its_own_speakers(
    diarizer: Diarizer, shared_data: Path
) -> None:
    # dev_conv01: d02 speaks 24.30-28.03, d01 says "Aiyo." 28.39-28.88, d02 again from 29.68.
    # The 1.6 s windows that label frames hear mostly d02 around the reply.
    audio = read_audio(shared_data / "dev/synthetic/conversations/dev_conv01.wav")

    turns = diarize(diarizer, audio)

    def at(second: float) -> set[str]:
        return {turn.speaker for turn in turns if turn.start <= second < turn.end}

    assert at(28.6) == at(20.5)  # d01, as in its turn before
    assert at(28.6).isdisjoint(at(26.0) | at(31.0))  # not d02's


class _Voices:
    """WeSpeaker's seam for ``_short_utterances``: a window's vector is its mean fbank frame."""

    def embed_windows(self, fbank: np.ndarray, starts: list[int], length: int) -> np.ndarray:
        vectors = np.stack([fbank[start : start + length].mean(axis=0) for start in starts])
        unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit


def test_a_short_stretch_of_speech_goes_whole_to_the_voice_it_resembles_by_a_margin() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    leaning = np.array([np.cos(np.radians(47)), np.sin(np.radians(47))])  # b by 0.05 only
    clearer = np.array([0.6, 0.8])  # b by 0.2
    fbank = np.tile(a, (1100, 1)).astype(np.float32)
    fbank[300:360] = b  # 0.6 s of voice b between voice a's speech
    fbank[500:520] = b  # 0.2 s: too short to tell
    fbank[600:800] = b  # 2 s: long enough for the windows, left as they labelled it
    fbank[900:960] = leaning
    fbank[1000:1060] = clearer
    active = np.zeros((1100, 2), bool)
    active[:, 0] = True  # all given to a by the windows
    regions = [(0.0, 2.9), (3.0, 3.6), (5.0, 5.2), (6.0, 8.0), (9.0, 9.6), (10.0, 10.6)]
    spans = short_spans(regions)
    vectors = np.stack([_Voices().embed_windows(fbank[lo:hi], [0], hi - lo)[0] for lo, hi in spans])

    relabelled = _short_utterances(active, np.asarray(spans), vectors, np.stack([a, b]))

    assert relabelled[300:360, 1].all()
    assert not relabelled[300:360, 0].any()
    assert relabelled[:300, 0].all()
    assert not relabelled[:300, 1].any()
    for lo, hi in ((500, 520), (600, 800), (900, 960)):
        assert (relabelled[lo:hi] == active[lo:hi]).all(), (lo, hi)
    assert relabelled[1000:1060, 1].all()
    assert not relabelled[1000:1060, 0].any()
