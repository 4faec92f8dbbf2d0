"""Every adversarial file of ../shared/data/dev/adversarial through the whole pipeline.

manifest.json names the behaviour each must get; decode-level checks live in
test_adversarial_decode.py, these run the real models end to end (and skip without the data).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lahstats.errors import InvalidAudio
from lahstats.pipeline.decode import decode_file
from lahstats.pipeline.run import Models, analyze, analyze_speech, load_models
from lahstats.settings import Settings


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return load_models(Settings(env="test", data_dir=tmp_path_factory.mktemp("m") / "var"))


@pytest.fixture(scope="module")
def adversarial(shared_data: Path) -> Path:
    return shared_data / "dev" / "adversarial"


@pytest.mark.parametrize("name", ["empty_0bytes.wav", "not_audio_text.wav"])
def test_non_audio_is_refused_before_any_model_runs(adversarial: Path, name: str) -> None:
    with pytest.raises(InvalidAudio, match=name):
        decode_file(adversarial / name)


@pytest.mark.parametrize(
    "name",
    ["header_only_0samples.wav", "silence_60s.wav", "white_noise_60s.wav", "tiny_0.2s.wav"],
)
def test_no_speech_gives_no_speakers_and_no_words(
    models: Models, adversarial: Path, name: str
) -> None:
    analysis = analyze(models, decode_file(adversarial / name))
    assert len(analysis.speakers) <= (1 if name.startswith("tiny") else 0)
    assert sum(c.total for c in analysis.counts) == 0
    if name.startswith(("silence", "header")):
        assert analysis.words == ()
        assert analysis.samples == ()


def test_truncated_wav_processes_what_it_holds(models: Models, adversarial: Path) -> None:
    audio = decode_file(adversarial / "truncated_data.wav")
    assert audio.duration == pytest.approx(0.25, abs=0.01)
    analysis = analyze(models, audio)
    assert sum(c.total for c in analysis.counts) == 0


def test_stereo_with_one_voice_per_channel_keeps_both_voices(
    models: Models, adversarial: Path
) -> None:
    analysis = analyze_speech(models, decode_file(adversarial / "stereo_8k_dev_conv01.wav"))
    assert len(analysis.speakers) == 2
    talk = sorted(analysis.speaking_time(s) for s in analysis.speakers)
    assert talk[0] > 20  # both speakers talk for a good part of the 106 s


@pytest.mark.parametrize(
    "name", ["very_quiet_-55dB_dev_conv02_30s.wav", "clipped_hot_dev_conv02_30s.wav"]
)
def test_quiet_and_clipped_speech_is_still_heard(
    models: Models, adversarial: Path, name: str
) -> None:
    analysis = analyze_speech(models, decode_file(adversarial / name))
    assert analysis.speakers
    assert len(analysis.words) > 20


def test_mp3_named_wav_is_analysed_as_mp3(models: Models, adversarial: Path) -> None:
    analysis = analyze_speech(models, decode_file(adversarial / "mp3_data_named.wav"))
    assert analysis.duration == pytest.approx(20.0, abs=0.1)
    assert analysis.speakers
    assert analysis.words
