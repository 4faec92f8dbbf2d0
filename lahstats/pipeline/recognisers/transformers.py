"""Speech recognised by Hugging Face transformers: Whisper-family checkpoints and MERaLiON.

Two kinds of checkpoint, told apart by their ``config.json``:

- Whisper family (``model_type`` "whisper": openai/whisper-*, Singapore-English fine-tunes).
  Forced to English transcription and steered by the lexicon's example sentence as the prompt,
  as the faster-whisper recogniser is (``whisper.py`` says why, and why a piece that only echoes
  the prompt is dropped). Word times come from the cross-attention alignment (DTW over the
  generation config's ``alignment_heads``) when the checkpoint names its heads.
- MERaLiON (speech LLMs whose own code the checkpoint carries, loaded with
  ``trust_remote_code``), called as its model card does: a chat prompt asking for a
  transcription and the audio. It gives no times, so its words are spread over the speech.

The turns' speech regions are cut into pieces of at most 30 s (what both models hear at once),
at pauses where they can be, and the pieces run ``LAHSTATS_TRANSCRIBER_BATCH_SIZE`` at a time
through one ``generate`` call; when the GPU runs out of memory the batch is halved and tried
again. Weights are read from disk only (``local_files_only``): a hub id is fetched by
``hub.local_model``, which fails fast without a network.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline import hub
from lahstats.pipeline.backends import gpu_memory
from lahstats.pipeline.intervals import TurnIndex
from lahstats.pipeline.recognisers.common import (
    COMPRESSION_LIMIT,
    STAGE,
    audible,
    echoes_prompt,
    turn_regions,
)
from lahstats.pipeline.recognisers.pieces import compression_ratio, cut_pieces, in_batches, spread
from lahstats.pipeline.types import SAMPLE_RATE, Audio, ProgressHook, Samples, Turn, Word

if TYPE_CHECKING:
    from lahstats.settings import Settings

SETTING = "LAHSTATS_TRANSCRIBER_MODEL"
# What transformers reads from a checkpoint: configs, tokenizer and processor files, chat
# templates, remote code, weights. Only what is needed is fetched from the hub: no TensorFlow or
# Flax weights, no .bin weights when there are safetensors (both ~1 GB for whisper-small).
MODEL_FILES = ("*.json", "*.safetensors", "*.py", "*.txt", "*.model", "*.jinja", "*.tiktoken")
BIN_WEIGHTS = ("pytorch_model*.bin",)
# MERaLiON's model card: the instruction it was trained with, inside its chat template.
MERALION_QUERY = "Please transcribe this speech."
MERALION_PROMPT = (
    "Instruction: {query} \nFollow the text instruction based on the following audio: <SpeechHere>"
)
# 30 s of fast speech is ~90 words, ~150 tokens: twice that bounds a repetition loop's cost.
MERALION_MAX_NEW_TOKENS = 256
# MERaLiON-3-ASR's own package pins this against the repetition loops the model falls into on
# short or unusual audio; greedy decoding, as there.
MERALION_NO_REPEAT_NGRAM = 6
# MERaLiON's evaluation code pads clips under a second to a second.
MERALION_SHORTEST_CLIP = SAMPLE_RATE
# Whisper's control tokens: <|endoftext|>, <|en|>, <|transcribe|>, <|notimestamps|>, ...
CONTROL_TOKEN = re.compile(r"<\|[^|]*\|>")
# A speaker tag MERaLiON writes before some transcripts ("<Speaker1>: ...").
SPEAKER_TAG = re.compile(r"<\s*speaker\s*\d*\s*>\s*:?|^\s*speaker\s*\d+\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Heard:
    """What a model wrote for one piece: its words, with times in the piece when it gives them."""

    text: str
    words: tuple[str, ...]
    times: tuple[tuple[float, float], ...] | None = None


class Flavour(Protocol):
    """One kind of checkpoint: recognises a batch of clips in a single ``generate`` call."""

    prompted: bool  # steered by the lexicon's example, so an echo of it is dropped

    def recognise(self, clips: list[Samples]) -> list[Heard]: ...


class TransformersRecogniser:
    """A transformers checkpoint, loaded once, that transcribes the speech regions of turns."""

    def __init__(self, flavour: Flavour, lexicon: Lexicon, *, name: str, batch_size: int) -> None:
        self.name = name
        self._flavour = flavour
        self._lexicon = lexicon
        self._batch_size = batch_size

    def transcribe(
        self, audio: Audio, turns: tuple[Turn, ...], on_progress: ProgressHook
    ) -> tuple[Word, ...]:
        pieces = cut_pieces(turn_regions(turns, audio.duration), turns)
        # Longest first: a batch that does not fit in memory shows up at once, not at the end.
        pieces.sort(key=lambda piece: piece[1] - piece[0], reverse=True)
        clips = [audible(audio.slice(start, end)) for start, end in pieces]
        on_progress(STAGE, 0, len(pieces))
        heard = in_batches(
            clips,
            self._batch_size,
            self._flavour.recognise,
            on_done=lambda done: on_progress(STAGE, done, len(pieces)),
            name=self.name,
        )
        index = TurnIndex(turns)
        words: list[Word] = []
        for (start, end), said in zip(pieces, heard, strict=True):
            if not said.words or compression_ratio(said.text) > COMPRESSION_LIMIT:
                continue
            if self._flavour.prompted and echoes_prompt(said.text, self._lexicon):
                continue
            if said.times is None:
                times = spread(said.words, start, end, turns)
            else:
                times = [
                    (min(end, start + max(0.0, at)), min(end, start + max(0.0, to)))
                    for at, to in said.times
                ]
            for text, (at, to) in zip(said.words, times, strict=True):
                speaker = index.speaker_at(at, to)
                if speaker is not None:
                    words.append(Word(text, at, max(at, to), speaker))
        return tuple(words)


class WhisperFlavour:
    """WhisperForConditionalGeneration: English transcription, prompted, DTW word times."""

    prompted = True

    def __init__(self, model: Any, processor: Any, lexicon: Lexicon, *, device: str) -> None:
        import torch

        self._model = model
        self._processor = processor
        self._device = device
        self._dtype = model.dtype
        generation = model.generation_config
        self._timed = bool(getattr(generation, "alignment_heads", None))
        # A multilingual checkpoint must not drift into another language (Singlish is English);
        # an English-only one refuses a language token.
        multilingual = getattr(generation, "is_multilingual", None)
        self._language: dict[str, str] = (
            {"language": "en", "task": "transcribe"}
            if getattr(generation, "lang_to_id", None) and multilingual is not False
            else {}
        )
        context = int(model.config.max_target_positions)
        self._prompt: Any = None
        if lexicon.example:
            ids = processor.get_prompt_ids(lexicon.example, return_tensors="pt")
            # Whisper's own limit: the prompt keeps its last half-context of tokens.
            if len(ids) > context // 2:
                ids = torch.cat([ids[:1], ids[len(ids) - context // 2 + 1 :]])
            self._prompt = ids.to(device)
        # Start, language, task and no-timestamps tokens go before the answer, after the prompt.
        prompt = 0 if self._prompt is None else len(self._prompt)
        self._max_new_tokens = max(1, min(context // 2, context - prompt - 4))
        self._special = set(processor.tokenizer.all_special_ids)
        self._start = generation.decoder_start_token_id

    def recognise(self, clips: list[Samples]) -> list[Heard]:
        import torch

        features = self._processor.feature_extractor(
            clips, sampling_rate=SAMPLE_RATE, return_tensors="pt", return_attention_mask=True
        )
        options: dict[str, Any] = {
            "attention_mask": features["attention_mask"].to(self._device),
            "max_new_tokens": self._max_new_tokens,
            "num_beams": 1,
            "do_sample": False,
            **self._language,
        }
        if self._prompt is not None:
            options["prompt_ids"] = self._prompt
        if self._timed:
            options["return_token_timestamps"] = True
        with torch.inference_mode(), warnings.catch_warnings():
            # transformers' word alignment hands numpy a torch tensor when the clips differ in
            # length; numpy 2 warns that this will change. Harmless today.
            warnings.filterwarnings(
                "ignore", message="__array_wrap__ must accept context", category=DeprecationWarning
            )
            output = self._model.generate(
                features["input_features"].to(self._device, self._dtype), **options
            )
        if self._timed:
            sequences, timestamps = output["sequences"], output["token_timestamps"]
        else:
            sequences, timestamps = output, None
        return [
            self._heard(
                sequences[row].tolist(),
                None if timestamps is None else timestamps[row].tolist(),
                len(clips[row]) / SAMPLE_RATE,
            )
            for row in range(len(clips))
        ]

    def _heard(self, ids: list[int], ends: list[float] | None, seconds: float) -> Heard:
        """Words of one answer: a token with a leading space starts a word. Token ``i`` ends at
        ``ends[i]`` and starts where token ``i - 1`` ends (transformers' word-time convention)."""
        # Versions that return the decoder's prompt too: keep only what follows the start token.
        first = max((i + 1 for i, token in enumerate(ids) if token == self._start), default=0)
        tokenizer = self._processor.tokenizer
        groups: list[list[int]] = []  # token positions of each word
        for i in range(first, len(ids)):
            piece = tokenizer.convert_ids_to_tokens(ids[i])
            # Timestamps have no token in the vocabulary; control tokens look like <|en|>.
            if ids[i] in self._special or not piece or CONTROL_TOKEN.fullmatch(piece):
                continue
            if not groups or piece.startswith(("Ġ", " ")):
                groups.append([])
            groups[-1].append(i)
        words: list[str] = []
        times: list[tuple[float, float]] = []
        for group in groups:
            text = tokenizer.decode([ids[i] for i in group]).strip()
            if not text:
                continue
            words.append(text)
            if ends is not None:
                last = min(group[-1], len(ends) - 1)
                begin = ends[group[0] - 1] if group[0] > first and group[0] - 1 < len(ends) else 0.0
                times.append((min(begin, seconds), min(max(begin, ends[last]), seconds)))
        text = tokenizer.decode([ids[i] for group in groups for i in group]).strip()
        return Heard(text, tuple(words), tuple(times) if ends is not None else None)


class MeralionFlavour:
    """A MERaLiON speech LLM through its own processor and ``generate``; no word times."""

    prompted = False

    def __init__(self, model: Any, processor: Any, *, device: str) -> None:
        self._model = model
        self._processor = processor
        self._device = device
        self._dtype = model.dtype
        self._prompt = processor.tokenizer.apply_chat_template(
            [{"role": "user", "content": MERALION_PROMPT.format(query=MERALION_QUERY)}],
            tokenize=False,
            add_generation_prompt=True,
        )

    def recognise(self, clips: list[Samples]) -> list[Heard]:
        import numpy as np
        import torch

        audios = [
            np.pad(clip, (0, MERALION_SHORTEST_CLIP - len(clip)))
            if len(clip) < MERALION_SHORTEST_CLIP
            else clip
            for clip in clips
        ]
        inputs = self._processor(text=[self._prompt] * len(audios), audios=audios)
        inputs = inputs.to(self._device)
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                inputs[key] = value.to(self._dtype)
        with torch.inference_mode():
            generated = self._model.generate(
                **inputs,
                max_new_tokens=MERALION_MAX_NEW_TOKENS,
                do_sample=False,
                num_beams=1,
                no_repeat_ngram_size=MERALION_NO_REPEAT_NGRAM,
            )
        answers = generated[:, inputs["input_ids"].size(1) :]
        texts = self._processor.batch_decode(answers, skip_special_tokens=True)
        heard = []
        for text in texts:
            clean = " ".join(SPEAKER_TAG.sub(" ", text).split())
            heard.append(Heard(clean, tuple(clean.split())))
        return heard


def load_transformers(settings: Settings, lexicon: Lexicon) -> TransformersRecogniser:
    """The checkpoint ``LAHSTATS_TRANSCRIBER_MODEL`` names, on the settings' device and dtype;
    ``ModelUnavailable`` saying what to do when it cannot be had or is not a speech model."""
    from lahstats.pipeline.backends import resolve_device

    model = settings.transcriber_model
    if not model:
        raise ModelUnavailable(
            f"the transformers transcriber needs a model and {SETTING} is not set",
            hint=f"Set {SETTING} to a model hub id (openai/whisper-small, "
            "MERaLiON/MERaLiON-2-10B-ASR) or a local model directory, or use "
            "LAHSTATS_TRANSCRIBER=whisper-base (the default).",
        )
    directory = model_directory(settings)
    config = _config(directory)
    device = resolve_device(settings.device)
    hub.quiet_hub()
    import torch
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable(
            "LAHSTATS_DEVICE=cuda but torch sees no GPU",
            hint="Set LAHSTATS_DEVICE=auto or cpu, or install a CUDA build of torch.",
        )
    found = hub.hub_id(model)
    name = f"transformers:{found if found is not None else Path(model).expanduser().resolve().name}"
    flavour: Flavour
    if config.get("model_type") == "whisper":
        dtype = _dtype(settings.transcriber_dtype, device, gemma=False)
        whisper, processor = _load(directory, dtype, device, remote=False)
        flavour = WhisperFlavour(whisper, processor, lexicon, device=device)
    elif _is_meralion(config):
        dtype = _dtype(settings.transcriber_dtype, device, gemma=True)
        meralion, processor = _load(directory, dtype, device, remote=True)
        flavour = MeralionFlavour(meralion, processor, device=device)
    else:
        raise ModelUnavailable(
            f"{model} is a {config.get('model_type', 'unknown')!r} model, not a Whisper-family "
            f"or MERaLiON speech recogniser ({SETTING})",
            hint="Use a Whisper checkpoint (openai/whisper-small or a fine-tune of it) or "
            "MERaLiON/MERaLiON-2-10B-ASR / MERaLiON/MERaLiON-3-3B-ASR.",
        )
    return TransformersRecogniser(
        flavour, lexicon, name=name, batch_size=settings.transcriber_batch_size
    )


def model_directory(settings: Settings) -> Path:
    """The checkpoint on disk, fetched from the hub when the setting is a hub id: safetensors
    weights, or PyTorch .bin weights for a checkpoint that has no safetensors."""
    model = settings.transcriber_model or ""
    options: dict[str, Any] = {
        "setting": SETTING,
        "token": settings.hf_token,
        "cache_dir": settings.model_cache_dir,
    }
    directory = hub.local_model(model, allow_patterns=MODEL_FILES, **options)
    if not directory.is_dir():
        raise ModelUnavailable(
            f"{SETTING}={model} is a file, not a model directory",
            hint=f"Point {SETTING} at the directory that holds config.json and the weights.",
        )
    if not (directory / "config.json").is_file():
        raise ModelUnavailable(
            f"no config.json in {directory} ({SETTING})",
            hint="Point the setting at a transformers checkpoint directory (config.json, "
            "weights, tokenizer and processor files), or at its model hub id.",
        )
    if not _has_weights(directory) and hub.hub_id(model) is not None:
        directory = hub.local_model(model, allow_patterns=(*MODEL_FILES, *BIN_WEIGHTS), **options)
    if not _has_weights(directory):
        raise ModelUnavailable(
            f"no weights (*.safetensors or pytorch_model*.bin) in {directory} ({SETTING})",
            hint="Copy the whole checkpoint into the directory, or set the setting to the "
            "model's hub id.",
        )
    return directory


def _has_weights(directory: Path) -> bool:
    return any(directory.glob("*.safetensors")) or any(directory.glob("pytorch_model*.bin"))


def _config(directory: Path) -> dict[str, Any]:
    path = directory / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelUnavailable(
            f"{path} cannot be read as JSON ({SETTING})",
            hint="Download the checkpoint again; the file is damaged.",
        ) from error
    if not isinstance(config, dict):
        raise ModelUnavailable(
            f"{path} is not a transformers model config ({SETTING})",
            hint="Point the setting at a transformers checkpoint directory.",
        )
    return config


def _is_meralion(config: dict[str, Any]) -> bool:
    auto_map = config.get("auto_map") or {}
    return "meralion" in str(config.get("model_type", "")).lower() or (
        "AutoModelForSpeechSeq2Seq" in auto_map
    )


def _dtype(setting: str, device: str, *, gemma: bool) -> Any:
    """``auto``: full precision on the CPU, half on a GPU. MERaLiON's Gemma 2 decoder overflows
    in float16, so it gets bfloat16 (as its model card loads it) where the GPU has it."""
    import torch

    if setting != "auto":
        return getattr(torch, setting)
    if device != "cuda":
        return torch.float32
    return torch.bfloat16 if gemma and torch.cuda.is_bf16_supported() else torch.float16


def _load(directory: Path, dtype: Any, device: str, *, remote: bool) -> tuple[Any, Any]:
    """Model and processor from ``directory``, without the network; for a checkpoint that
    brings its own code, that code (``trust_remote_code``): the setting chose to run it."""
    import transformers
    from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor

    # transformers 4.56 renamed ``torch_dtype`` to ``dtype``; MERaLiON's own code may need an
    # older transformers than this project's default.
    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    dtype_option = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    options: dict[str, Any] = {"local_files_only": True, "trust_remote_code": remote}
    # MERaLiON's text decoder is Gemma 2, whose logit soft-capping needs eager attention.
    attention: dict[str, Any] = {"attn_implementation": "eager"} if remote else {}
    model_options: dict[str, Any] = {**options, **attention, dtype_option: dtype}
    try:
        processor = AutoProcessor.from_pretrained(directory, **options)  # type: ignore[no-untyped-call]
        model = AutoModelForSpeechSeq2Seq.from_pretrained(directory, **model_options)
    except (
        OSError,
        ValueError,
        ImportError,
        KeyError,
        AttributeError,
        TypeError,
        SyntaxError,
    ) as error:
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        what = type(error).__name__ + (f": {reason}" if reason else "")
        hint = (
            "The checkpoint's own code may need another transformers version: install the one "
            "its model card names (pip install 'transformers==X')."
            if remote
            else "Check that the directory holds a whole transformers checkpoint (config.json, "
            "weights, tokenizer and preprocessor files)."
        )
        raise ModelUnavailable(
            f"{directory} could not be loaded by transformers {transformers.__version__} ({what})",
            hint=hint,
        ) from error
    hint = (
        "Use LAHSTATS_TRANSCRIBER_DTYPE=float16 or bfloat16, a smaller model, or "
        "LAHSTATS_DEVICE=cpu."
    )
    with gpu_memory(f"loading {directory.name} in {dtype}", hint):
        model = model.to(device).eval()
    return model, processor
