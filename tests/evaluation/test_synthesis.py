from __future__ import annotations

import re
import socket
from typing import Any

import numpy as np
import pytest

from lahstats.evaluation import synthesis
from lahstats.evaluation.synthesis import SAMPLE_RATE, Voice, available_voices, speak

SENTENCE = "Can you pass me the chilli sauce, lah?"
INSTALL = {
    "espeak": "apt-get install espeak-ng",
    "flite": "apt-get install flite",
    "festival": "apt-get install festival festvox-kallpc16k",
    "kokoro": "pip install -e '.[synth]' (and apt-get install espeak-ng for its phonemes)",
    "piper": "pip install -e '.[synth]'",
}
# Two voices an engine tells apart; festival has one voice here, so its second is shifted.
PAIRS = {
    "espeak": (Voice("espeak", "en-us"), Voice("espeak", "en-gb+f3")),
    "flite": (Voice("flite", "awb"), Voice("flite", "slt")),
    "festival": (Voice("festival", "kal_diphone"), Voice("festival", "kal_diphone", 300, 1.2)),
    "kokoro": (Voice("kokoro", "jm_kumo"), Voice("kokoro", "jf_gongitsune")),
    "piper": (Voice("piper", "joe"), Voice("piper", "joe", -200, 0.9)),
}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every engine must speak from what is on disk: any attempt to connect fails the test.
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"synthesis tried to reach the network: {args}")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def installed() -> frozenset[Voice]:
    return frozenset(available_voices())


@pytest.mark.parametrize("engine", sorted(PAIRS))
def test_each_engine_speaks_16k_float_and_tells_voices_apart(
    engine: str, installed: frozenset[Voice]
) -> None:
    first, second = PAIRS[engine]
    plain = Voice(second.engine, second.name)
    if first not in installed or plain not in installed:
        pytest.skip(f"{engine} is not installed here: {INSTALL[engine]}")

    said = [speak(SENTENCE, voice) for voice in (first, second)]

    for audio in said:
        assert audio.dtype == np.float32
        assert audio.ndim == 1
        assert 0.5 <= audio.size / SAMPLE_RATE <= 5.0
        assert float(np.sqrt(np.mean(audio**2))) > 0.02
        assert 0.6 < float(np.max(np.abs(audio))) < 0.75  # -3 dBFS is 0.708
    a, b = said
    assert a.size != b.size or not np.allclose(a, b, atol=1e-3)


def test_available_voices_have_unique_file_safe_ids(installed: frozenset[Voice]) -> None:
    ids = [voice.id for voice in installed]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9._+-]+", voice_id) for voice_id in ids)


def test_id_names_pitch_and_tempo() -> None:
    assert Voice("flite", "awb").id == "flite-awb"
    assert Voice("espeak", "en-us+f3", 200, 1.1).id == "espeak-en-us+f3-p200-t1.1"
    assert Voice("festival", "kal diphone/x").id == "festival-kal_diphone_x"


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        Voice("sapi", "david")


def test_missing_program_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthesis.shutil, "which", lambda program: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        speak(SENTENCE, Voice("espeak", "en-us"))


def test_voices_of_one_recorded_person_are_one_person() -> None:
    assert Voice("flite", "kal").person == Voice("festival", "kal_diphone").person
    assert Voice("flite", "kal16").person == "kal"
    assert Voice("flite", "awb").person != "kal"
    assert Voice("espeak", "en-us+f3").person == Voice("espeak", "en-gb-x-rp+f3").person
    assert Voice("espeak", "en-us").person == Voice("espeak", "en-029").person
    assert Voice("espeak", "en-us").person != Voice("espeak", "en-us+m3").person
    assert Voice("kokoro", "jf_alpha").person != Voice("kokoro", "jf_nezumi").person
