"""A stand-in for MERaLiON's own model code, copied into test checkpoints as their remote code.

MERaLiON checkpoints (MERaLiON/MERaLiON-2-10B-ASR, MERaLiON-3-3B-ASR) carry their configuration,
model and processor as Python files that transformers runs with ``trust_remote_code``. That code
and those weights cannot be had offline, so the tests' checkpoints carry this file instead: the
same shape at toy size (a Whisper encoder whose output replaces the ``<SpeechHere>`` tokens of a
chat prompt, read by a small causal LM) and the same interface as MERaLiON's own
``MERaLiON2Processor`` / ``MERaLiON2ForConditionalGeneration``: ``processor(text=prompts,
audios=arrays)`` cuts each audio into 30 s chunks, repeats the speech token
``fixed_speech_embeds_length`` times per chunk and returns ``input_ids``, ``attention_mask``,
``input_features`` and ``feature_attention_mask``; ``model.generate(**inputs, ...)`` returns the
prompt followed by the answer; ``processor.batch_decode`` decodes. It is not MERaLiON: with random
weights it writes random words, and it exists only so that loading a checkpoint with its own code
and lahstats's calling convention run in tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, PretrainedConfig, PreTrainedModel
from transformers.feature_extraction_utils import BatchFeature
from transformers.models.whisper.configuration_whisper import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder
from transformers.processing_utils import ProcessorMixin

CHUNK_SECONDS = 30


class StandinMeralionConfig(PretrainedConfig):
    model_type = "meralion_standin"

    def __init__(
        self,
        speech_settings: dict[str, Any] | None = None,
        text_settings: dict[str, Any] | None = None,
        speech_token_index: int = 0,
        fixed_speech_embeds_length: int = 4,
        **kwargs: Any,
    ) -> None:
        # Plain dicts, under names transformers gives no meaning (it reads ``text_config`` as a
        # nested config): the sub-models' configs are built by the model.
        self.speech_settings = speech_settings or {}
        self.text_settings = text_settings or {}
        self.speech_token_index = speech_token_index
        self.fixed_speech_embeds_length = fixed_speech_embeds_length
        super().__init__(**kwargs)


class StandinMeralionForConditionalGeneration(PreTrainedModel):
    config_class = StandinMeralionConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: StandinMeralionConfig) -> None:
        super().__init__(config)
        speech = WhisperConfig(**config.speech_settings)
        text = LlamaConfig(**config.text_settings)
        self.speech_encoder = WhisperEncoder(speech)
        self.adapter = nn.Linear(speech.d_model, text.hidden_size)
        self.text_decoder = LlamaForCausalLM(text)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Conv1d | nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()

    def speech_embeddings(self, input_features: torch.Tensor) -> torch.Tensor:
        hidden = self.speech_encoder(input_features).last_hidden_state
        chunks, frames, width = hidden.shape
        per_chunk = self.config.fixed_speech_embeds_length
        pooled = hidden.reshape(chunks, per_chunk, frames // per_chunk, width).mean(dim=2)
        return self.adapter(pooled)

    @torch.no_grad()
    def generate(  # type: ignore[override]
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        del feature_attention_mask  # every chunk is padded to 30 s, as MERaLiON's are
        embeds = self.text_decoder.get_input_embeddings()(input_ids)
        speech = self.speech_embeddings(input_features.to(self.dtype))
        at = input_ids == self.config.speech_token_index
        embeds[at] = speech.reshape(-1, speech.shape[-1]).to(embeds.dtype)
        # With both ids and embeddings, generate reads the embeddings and returns the prompt's
        # ids followed by the answer, as MERaLiON's generate does.
        return self.text_decoder.generate(
            input_ids=input_ids, inputs_embeds=embeds, attention_mask=attention_mask, **kwargs
        )


class StandinMeralionProcessor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]  # noqa: RUF012 (transformers' convention)
    feature_extractor_class = "WhisperFeatureExtractor"
    tokenizer_class = "AutoTokenizer"

    def __init__(
        self,
        feature_extractor: Any = None,
        tokenizer: Any = None,
        fixed_speech_embeds_length: int = 4,
        speech_token: str = "<SpeechHere>",
    ) -> None:
        self.fixed_speech_embeds_length = fixed_speech_embeds_length
        self.speech_token = speech_token
        super().__init__(feature_extractor, tokenizer)

    def __call__(  # type: ignore[override]
        self,
        text: list[str] | str | None = None,
        audios: list[np.ndarray] | np.ndarray | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        texts = text if isinstance(text, list) else [text or ""]
        arrays = audios if isinstance(audios, list) else [] if audios is None else [audios]
        size = CHUNK_SECONDS * self.feature_extractor.sampling_rate
        counts = [max(1, -(-len(audio) // size)) for audio in arrays]
        chunks = [
            audio[i * size : (i + 1) * size]
            for audio, n in zip(arrays, counts, strict=True)
            for i in range(n)
        ]
        texts = [
            prompt.replace(
                self.speech_token, self.speech_token * self.fixed_speech_embeds_length * n
            )
            for prompt, n in zip(texts, counts, strict=True)
        ]
        data: dict[str, Any] = {}
        if chunks:
            features = self.feature_extractor(
                chunks,
                sampling_rate=self.feature_extractor.sampling_rate,
                return_tensors="pt",
                return_attention_mask=True,
                padding="max_length",
            )
            data["input_features"] = features["input_features"]
            data["feature_attention_mask"] = features["attention_mask"]
        tokens = self.tokenizer(
            texts,
            return_tensors="pt",
            add_special_tokens=False,
            padding=True,
            return_attention_mask=True,
        )
        data["input_ids"] = tokens["input_ids"]
        data["attention_mask"] = tokens["attention_mask"]
        return BatchFeature(data=data)

    def batch_decode(self, *args: Any, **kwargs: Any) -> list[str]:
        return list(self.tokenizer.batch_decode(*args, **kwargs))
