"""Speech to timed, speaker-attributed words, by whichever recogniser the settings name.

The turns say where people speak. Overlapping and nearby turns are merged into speech regions
(``recognisers.common.turn_regions``) and each region is recognised once; every word then goes
to the speaker around its midpoint (``intervals.speaker_at``: in an overlap, the voice that came
in last). Recognising each turn's clip on its own would hear the other voice of an overlap too
and count its words twice (on dev with oracle turns: F1 0.50 per turn against 0.58 per region;
0.64 per turn even with a word heard in two turns at once kept only in the deeper one).
Audio outside every turn is never recognised, so silence and noise cannot become words.

Never downloads: a recogniser whose weights are not on disk raises ``ModelUnavailable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.recognisers.common import STAGE
from lahstats.pipeline.types import Audio, ProgressHook, Turn, Word, no_progress

if TYPE_CHECKING:
    from lahstats.settings import Settings

# A CTranslate2 (faster-whisper) checkpoint on the model hub: weights, configs, vocabulary.
CTRANSLATE2_FILES = ("model.bin", "*.json", "vocabulary*", "tokenizer*")


class Transcriber(Protocol):
    """A loaded recogniser; ``transcribe`` returns words in recording time with speakers."""

    name: str

    def transcribe(
        self, audio: Audio, turns: tuple[Turn, ...], on_progress: ProgressHook
    ) -> tuple[Word, ...]: ...


def load_transcriber(settings: Settings, lexicon: Lexicon) -> Transcriber:
    """The recogniser the settings name, loaded once; raises ``ModelUnavailable`` if absent."""
    from lahstats.pipeline.backends import resolve_device
    from lahstats.pipeline.hub import local_model
    from lahstats.pipeline.particles import bundled_readout, bundled_word_readout
    from lahstats.pipeline.recognisers.whisper import (
        BASE_BEAM_SIZE,
        TINY_EXAMPLE,
        WhisperRecogniser,
        bundled_base,
        bundled_tiny_en,
    )

    device = resolve_device(settings.device)
    match settings.transcriber:
        case "whisper-tiny":
            return WhisperRecogniser(
                bundled_tiny_en(),
                lexicon,
                device=device,
                name="whisper-tiny",
                hotwords=settings.transcriber_hotwords,
                example=TINY_EXAMPLE,
            )
        case "whisper-base":
            return WhisperRecogniser(
                bundled_base(settings.model_cache_dir),
                lexicon,
                device=device,
                name="whisper-base",
                hotwords=settings.transcriber_hotwords,
                beam_size=BASE_BEAM_SIZE,
                particles=(
                    (bundled_readout(), bundled_word_readout()) if settings.particle_readout else ()
                ),
            )
        case "faster-whisper":
            if not settings.transcriber_model:
                raise ModelUnavailable(
                    "faster-whisper needs a CTranslate2 model directory or hub id",
                    hint="Set LAHSTATS_TRANSCRIBER_MODEL to a directory holding model.bin or a "
                    "model hub id like Systran/faster-whisper-small.",
                )
            model_dir = local_model(
                settings.transcriber_model,
                setting="LAHSTATS_TRANSCRIBER_MODEL",
                token=settings.hf_token,
                allow_patterns=CTRANSLATE2_FILES,
                cache_dir=settings.model_cache_dir,
            )
            return WhisperRecogniser(
                model_dir,
                lexicon,
                device=device,
                name="faster-whisper",
                hotwords=settings.transcriber_hotwords,
            )
        case "transformers":
            from lahstats.pipeline.recognisers.transformers import load_transformers

            return load_transformers(settings, lexicon)


def transcribe(
    transcriber: Transcriber,
    audio: Audio,
    turns: tuple[Turn, ...],
    *,
    on_progress: ProgressHook = no_progress,
) -> tuple[Word, ...]:
    """The words said in ``turns``, in time order, each with the speaker of its turn."""
    if not turns or audio.duration == 0:
        on_progress(STAGE, 1, 1)
        return ()
    words = transcriber.transcribe(audio, turns, on_progress)
    return tuple(sorted(words, key=lambda word: (word.start, word.end)))
