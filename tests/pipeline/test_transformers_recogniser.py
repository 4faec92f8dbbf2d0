"""The transformers recogniser: Whisper-family and MERaLiON checkpoints, end to end on real audio.

The checkpoints are built by the tests (``tiny_transformers``): production architectures at toy
size with random weights, so what they write is nonsense but every path runs: loading from a
directory (with the checkpoint's own code for MERaLiON), batching, word times from the model or
spread over the speech, the repetition and echo filters, speakers, and running out of GPU memory.
The network is refused throughout: loading a local checkpoint must never reach for the hub.
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from lahstats.errors import ConfigurationError, ModelUnavailable
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.recognisers import transformers as recogniser_module
from lahstats.pipeline.recognisers.common import STAGE
from lahstats.pipeline.recognisers.pieces import cut_pieces, in_batches, spread
from lahstats.pipeline.recognisers.transformers import Heard, TransformersRecogniser, _dtype
from lahstats.pipeline.transcribe import Transcriber, load_transcriber, transcribe
from lahstats.pipeline.types import Audio, Turn, Word
from lahstats.settings import Settings
from tests.pipeline.tiny_transformers import (
    STANDIN_SOURCE,
    write_standin_meralion,
    write_tiny_whisper,
)

LEXICON = load_lexicon()


@pytest.fixture(scope="module")
def network_attempts() -> Iterator[list[tuple[Any, ...]]]:
    """Every connection tried while the module's models load and run; each refused at once."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network access attempted in a test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


@pytest.fixture(autouse=True)
def _offline(network_attempts: list[tuple[Any, ...]]) -> Iterator[None]:
    yield
    assert network_attempts == [], f"network access attempted: {network_attempts}"


@pytest.fixture(scope="module")
def checkpoints(
    tmp_path_factory: pytest.TempPathFactory, network_attempts: list[tuple[Any, ...]]
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    return {
        "whisper-timed": write_tiny_whisper(
            root / "whisper-timed", alignment_heads=True, multilingual=True
        ),
        "whisper-spread": write_tiny_whisper(
            root / "whisper-spread", alignment_heads=False, multilingual=False
        ),
        "meralion": write_standin_meralion(root / "meralion"),
    }


def settings_for(directory: Path, **overrides: Any) -> Settings:
    return Settings(
        transcriber="transformers", transcriber_model=str(directory), device="cpu", **overrides
    )


@pytest.fixture(scope="module")
def recognisers(checkpoints: dict[str, Path]) -> dict[str, Transcriber]:
    return {
        kind: load_transcriber(settings_for(directory), LEXICON)
        for kind, directory in checkpoints.items()
    }


@pytest.fixture(scope="module")
def clip(two_speakers: tuple[Path, dict[str, Any]]) -> tuple[Audio, tuple[Turn, ...]]:
    path, truth = two_speakers
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16_000
    return Audio(samples), tuple(Turn(t["speaker"], t["start"], t["end"]) for t in truth["turns"])


def assert_contract(words: tuple[Word, ...], turns: tuple[Turn, ...], duration: float) -> None:
    """Words in time order, inside the audio, each with a speaker whose turn it overlaps or
    lies nearest to."""
    assert words, "the recogniser heard nothing"
    assert [w.start for w in words] == sorted(w.start for w in words)
    for word in words:
        assert isinstance(word, Word)
        assert word.text.strip()
        assert 0.0 <= word.start <= word.end <= duration
        own = [t for t in turns if t.speaker == word.speaker]
        assert own, f"{word} has a speaker of no turn"
        middle = (word.start + word.end) / 2
        nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
        overlaps = any(t.start <= word.end and word.start <= t.end for t in own)
        assert overlaps or nearest.speaker == word.speaker, word


# Timing and batching, without a model.


def test_spread_lays_words_over_the_turns_never_in_a_pause() -> None:
    turns = [Turn("A", 1.0, 3.0), Turn("B", 5.0, 6.0)]
    words = ["walao", "eh", "very", "long", "one", "lah", "ok", "lor"]

    times = spread(words, 0.8, 6.2, turns)

    assert len(times) == len(words)
    assert [t[0] for t in times] == sorted(t[0] for t in times)
    assert [t[1] for t in times] == sorted(t[1] for t in times)
    for start, end in times:
        assert start <= end
        assert (start >= 1.0 and end <= 3.0) or (start >= 5.0 and end <= 6.0)
    # Shares follow the letters: "walao" (5) lasts two and a half times "eh" (2).
    assert times[0][1] - times[0][0] == pytest.approx(2.5 * (times[1][1] - times[1][0]))
    assert times[0][0] == pytest.approx(1.0)
    assert times[-1][1] == pytest.approx(6.0)


def test_spread_uses_the_whole_piece_without_turns_in_it() -> None:
    assert spread(["one", "two"], 2.0, 4.0, []) == [(2.0, 3.0), (3.0, 4.0)]
    assert spread([], 2.0, 4.0, [Turn("A", 2.0, 4.0)]) == []


def test_long_regions_are_cut_at_pauses_then_turn_edges() -> None:
    turns = [
        Turn("A", 0.0, 20.0),
        Turn("B", 21.0, 45.0),  # pause 20-21: the first cut
        Turn("A", 40.0, 70.0),  # B's end at 45 has A speaking: a turn edge, one voice
    ]
    pieces = cut_pieces([(0.0, 70.0)], turns)

    assert pieces[0] == (0.0, 20.5)
    assert pieces[1] == (20.5, 45.0)
    assert pieces[2][0] == 45.0
    assert pieces[-1][1] == 70.0
    assert all(end - start <= 30.0 for start, end in pieces)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))


def test_a_long_turn_without_pauses_is_cut_every_30_seconds() -> None:
    assert cut_pieces([(0.0, 65.0)], [Turn("A", 0.0, 65.0)]) == [
        (0.0, 30.0),
        (30.0, 60.0),
        (60.0, 65.0),
    ]
    assert cut_pieces([(2.0, 9.0)], [Turn("A", 2.0, 9.0)]) == [(2.0, 9.0)]


def test_batches_that_run_out_of_gpu_memory_are_halved_then_given_up() -> None:
    sizes: list[int] = []

    def run(batch: list[int]) -> list[int]:
        sizes.append(len(batch))
        if len(batch) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return [item * 10 for item in batch]

    done: list[int] = []
    assert in_batches(list(range(7)), 8, run, on_done=done.append, name="m") == [
        item * 10 for item in range(7)
    ]
    assert sizes == [7, 3, 3, 1]  # halved once, then kept
    assert done == [3, 6, 7]

    def never(batch: list[int]) -> list[int]:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    with pytest.raises(ConfigurationError, match="ran out of memory") as error:
        in_batches([1, 2, 3], 4, never, on_done=done.append, name="m")
    assert "LAHSTATS_TRANSCRIBER_BATCH_SIZE" in error.value.hint
    assert "LAHSTATS_TRANSCRIBER_DTYPE=float16" in error.value.hint
    assert "LAHSTATS_DEVICE=cpu" in error.value.hint


class FakeFlavour:
    """Writes the given texts, one per piece, without times: the seam where a model would be."""

    def __init__(self, texts: list[str], *, prompted: bool) -> None:
        self.texts = texts
        self.prompted = prompted

    def recognise(self, clips: list[Any]) -> list[Heard]:
        said = [self.texts.pop(0) for _ in clips]
        return [Heard(text, tuple(text.split())) for text in said]


@pytest.mark.parametrize(
    ("text", "prompted", "kept"),
    [
        ("okay lor can or not", True, True),
        ("lah lor", True, False),  # only tracked words: the prompt echoed back
        ("lah lor", False, True),  # a model without the prompt cannot echo it
        ("and I'll see you in the next video " * 20, False, False),  # a repetition loop
    ],
    ids=["speech", "echo-of-prompt", "unprompted-particles", "repetition-loop"],
)
def test_echoes_and_loops_are_dropped_where_they_can_arise(
    text: str, prompted: bool, kept: bool
) -> None:
    recogniser = TransformersRecogniser(
        FakeFlavour([text], prompted=prompted), LEXICON, name="fake", batch_size=4
    )
    turns = (Turn("A", 0.5, 2.5),)
    words = transcribe(recogniser, Audio(np.zeros(16_000 * 3, dtype=np.float32)), turns)
    assert bool(words) is kept
    assert all(0.5 <= w.start <= w.end <= 2.5 for w in words)


def test_auto_dtype_is_full_precision_on_the_cpu() -> None:
    assert _dtype("auto", "cpu", gemma=False) is torch.float32
    assert _dtype("auto", "cpu", gemma=True) is torch.float32
    assert _dtype("bfloat16", "cpu", gemma=False) is torch.bfloat16


# Loading: clear, fast failures.


def test_an_unset_model_says_what_to_set() -> None:
    with pytest.raises(ModelUnavailable, match="LAHSTATS_TRANSCRIBER_MODEL") as error:
        load_transcriber(Settings(transcriber="transformers"), LEXICON)
    assert "whisper-base" in error.value.hint


def test_a_missing_directory_fails_without_the_network(
    tmp_path: Path, network_attempts: list[tuple[Any, ...]]
) -> None:
    with pytest.raises(ModelUnavailable, match="no such file or directory"):
        load_transcriber(settings_for(tmp_path / "nowhere"), LEXICON)


def test_a_directory_without_config_or_weights_or_speech_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"no config\.json") as error:
        load_transcriber(settings_for(tmp_path), LEXICON)
    assert "config.json" in error.value.hint

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    with pytest.raises(ModelUnavailable, match="no weights"):
        load_transcriber(settings_for(tmp_path), LEXICON)

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelUnavailable, match="'bert' model, not a Whisper-family") as error:
        load_transcriber(settings_for(tmp_path), LEXICON)
    assert "MERaLiON" in error.value.hint


def test_own_code_that_needs_another_transformers_says_so(tmp_path: Path) -> None:
    # MERaLiON-2's code imports HybridCache, which transformers 5 no longer has.
    source = STANDIN_SOURCE.read_text() + "\nfrom transformers.cache_utils import NoSuchCache\n"
    directory = write_standin_meralion(tmp_path / "old-meralion", source=source)
    with pytest.raises(ModelUnavailable, match="could not be loaded by transformers") as error:
        load_transcriber(settings_for(directory), LEXICON)
    assert "transformers==" in error.value.hint


def test_faster_whisper_takes_a_directory_and_fails_fast_on_a_missing_one(
    tmp_path: Path,
) -> None:
    from lahstats.pipeline.recognisers.whisper import bundled_tiny_en

    with pytest.raises(ModelUnavailable, match="no such file or directory"):
        load_transcriber(
            Settings(transcriber="faster-whisper", transcriber_model=str(tmp_path / "nowhere")),
            LEXICON,
        )
    loaded = load_transcriber(
        Settings(transcriber="faster-whisper", transcriber_model=str(bundled_tiny_en())), LEXICON
    )
    assert loaded.name == "faster-whisper"


# The real code paths on real audio.


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["whisper-timed", "whisper-spread", "meralion"])
def test_transcribes_two_voices_within_the_contract(
    kind: str,
    recognisers: dict[str, Transcriber],
    checkpoints: dict[str, Path],
    clip: tuple[Audio, tuple[Turn, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio, turns = clip
    spreads: list[int] = []
    real_spread = recogniser_module.spread

    def counted(words: Any, *args: Any) -> Any:
        spreads.append(len(words))
        return real_spread(words, *args)

    monkeypatch.setattr(recogniser_module, "spread", counted)
    progress: list[tuple[str, int, int]] = []

    recogniser = recognisers[kind]
    words = transcribe(recogniser, audio, turns, on_progress=lambda *p: progress.append(p))

    assert recogniser.name == f"transformers:{checkpoints[kind].name}"
    assert_contract(words, turns, audio.duration)
    assert {w.speaker for w in words} == {"A", "B"}
    assert progress[0] == (STAGE, 0, 3)  # three regions, one batch
    assert progress[-1] == (STAGE, 3, 3)
    if kind == "whisper-timed":
        assert spreads == [], "the model gives word times; nothing should be spread"
    else:
        assert spreads, "the model gives no word times; they must be spread"
        # Spread words lie inside their own speaker's turns, never in the pauses.
        for word in words:
            assert any(
                t.speaker == word.speaker and t.start <= word.start and word.end <= t.end
                for t in turns
            ), word


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["whisper-timed", "meralion"])
def test_batching_gives_the_words_of_one_piece_at_a_time(
    kind: str,
    recognisers: dict[str, Transcriber],
    checkpoints: dict[str, Path],
    clip: tuple[Audio, tuple[Turn, ...]],
) -> None:
    audio, turns = clip
    one_at_a_time = load_transcriber(
        settings_for(checkpoints[kind], transcriber_batch_size=1), LEXICON
    )
    batched = transcribe(recognisers[kind], audio, turns)
    single = transcribe(one_at_a_time, audio, turns)

    assert [(w.text, w.speaker) for w in batched] == [(w.text, w.speaker) for w in single]
    for a, b in zip(batched, single, strict=True):
        assert a.start == pytest.approx(b.start, abs=0.02)
        assert a.end == pytest.approx(b.end, abs=0.02)


@pytest.mark.slow
def test_a_long_turn_is_heard_in_pieces_of_at_most_30_seconds(
    recognisers: dict[str, Transcriber], clip: tuple[Audio, tuple[Turn, ...]]
) -> None:
    audio, _ = clip
    long = Audio(np.tile(audio.samples, 3)[: 16_000 * 40])
    turns = (Turn("A", 0.0, 40.0),)
    progress: list[tuple[str, int, int]] = []

    words = transcribe(
        recognisers["whisper-spread"], long, turns, on_progress=lambda *p: progress.append(p)
    )

    assert progress[-1] == (STAGE, 2, 2)  # 0-30 s and 30-40 s
    assert_contract(words, turns, long.duration)
    assert any(w.end <= 30.0 for w in words)
    assert any(w.start >= 30.0 for w in words)


@pytest.mark.slow
def test_out_of_gpu_memory_halves_the_batch_and_keeps_the_words(
    recognisers: dict[str, Transcriber],
    clip: tuple[Audio, tuple[Turn, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio, turns = clip
    recogniser = recognisers["whisper-spread"]
    assert isinstance(recogniser, TransformersRecogniser)
    expected = transcribe(recogniser, audio, turns)
    model = recogniser._flavour._model  # type: ignore[attr-defined]
    generate = model.generate
    sizes: list[int] = []

    def tight(features: torch.Tensor, **options: Any) -> Any:
        sizes.append(len(features))
        if len(features) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return generate(features, **options)

    monkeypatch.setattr(model, "generate", tight)
    assert transcribe(recogniser, audio, turns) == expected
    assert sizes == [3, 1, 1, 1]

    def none_left(features: torch.Tensor, **options: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(model, "generate", none_left)
    with pytest.raises(ConfigurationError, match="GPU ran out of memory") as error:
        transcribe(recogniser, audio, turns)
    assert "LAHSTATS_TRANSCRIBER_BATCH_SIZE" in error.value.hint


@pytest.mark.slow
def test_the_whole_pipeline_runs_with_a_transformers_checkpoint(
    checkpoints: dict[str, Path], two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    from lahstats.pipeline.decode import decode_file
    from lahstats.pipeline.run import analyze, load_models

    models = load_models(
        Settings(transcriber="transformers", transcriber_model=str(checkpoints["meralion"]))
    )
    analysis = analyze(models, decode_file(two_speakers[0]))

    assert models.names["transcriber"] == "transformers:meralion"
    assert_contract(analysis.words, analysis.turns, analysis.duration)
    assert {w.speaker for w in analysis.words} <= set(analysis.speakers)
    assert analysis.heard
