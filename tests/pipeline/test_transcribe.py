"""Transcription: speech regions, speaker attribution, and the real default recogniser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from lahstats.errors import ModelUnavailable
from lahstats.lexicon.lexicon import load_lexicon
from lahstats.pipeline.intervals import speaker_at
from lahstats.pipeline.particles import is_unwritten
from lahstats.pipeline.recognisers.common import turn_regions, unheard
from lahstats.pipeline.recount import recount
from lahstats.pipeline.transcribe import Transcriber, load_transcriber, transcribe
from lahstats.pipeline.types import Audio, Turn, Word
from lahstats.settings import Settings

LEXICON = load_lexicon()


@pytest.fixture(scope="module", params=["whisper-base", "whisper-tiny"])
def whisper(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Transcriber:
    cache = tmp_path_factory.mktemp("models")
    settings = Settings(transcriber=request.param, device="cpu", model_cache_dir=cache)
    return load_transcriber(settings, LEXICON)


def test_whisper_base_is_joined_from_its_two_packages_once(tmp_path: Path) -> None:
    from lahstats.pipeline.backends import package_file
    from lahstats.pipeline.recognisers.whisper import BASE_PARTS, bundled_base

    parts = [package_file(*part) for part in BASE_PARTS]
    model_dir = bundled_base(tmp_path)
    model = model_dir / "model.bin"
    assert model.stat().st_size == sum(part.stat().st_size for part in parts)
    with model.open("rb") as joined, parts[1].open("rb") as second:
        joined.seek(parts[0].stat().st_size)
        assert joined.read(4096) == second.read(4096)
    assert {path.name for path in model_dir.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    joined_at = model.stat().st_mtime_ns
    assert bundled_base(tmp_path) == model_dir
    assert model.stat().st_mtime_ns == joined_at  # not joined again
    # A join cut short (a full disk, a killed process) is noticed by its size and redone.
    with model.open("r+b") as truncated:
        truncated.truncate(1000)
    bundled_base(tmp_path)
    assert model.stat().st_size == sum(part.stat().st_size for part in parts)


def test_whisper_base_says_what_to_do_when_its_cache_cannot_be_written(tmp_path: Path) -> None:
    from lahstats.pipeline.recognisers.whisper import bundled_base

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(ModelUnavailable, match="cannot write") as error:
        bundled_base(blocked)
    assert "LAHSTATS_MODEL_CACHE_DIR" in error.value.hint


def test_overlapping_and_close_turns_form_one_region() -> None:
    turns = [Turn("A", 1.0, 3.0), Turn("B", 2.5, 4.0), Turn("A", 4.2, 5.0), Turn("B", 8.0, 9.0)]
    assert turn_regions(turns, 8.5, gap=0.3, pad=0.1) == [(0.9, 5.1), (7.9, 8.5)]


def test_unheard_finds_turn_time_far_from_every_word() -> None:
    turns = [Turn("A", 0.0, 5.0), Turn("B", 5.5, 9.0)]
    words = [Word("ok", 5.6, 6.0, "B"), Word("lor", 6.1, 6.5, "B"), Word("can", 8.0, 8.6, "B")]
    # A's whole turn was passed over; B's short pause between words is not a miss.
    assert unheard(turns, words, 0.0, 9.0, shortest=1.0, margin=0.3) == [(0.0, 5.0)]
    assert unheard(turns, words, 0.0, 9.0, shortest=1.0, margin=1.0) == [(0.0, 4.6)]
    assert unheard(turns, [], 6.0, 8.0) == [(6.0, 8.0)]
    assert unheard([], words, 0.0, 9.0) == []


def test_a_word_in_an_overlap_goes_to_the_voice_that_came_in_last() -> None:
    turns = [Turn("A", 0.0, 5.0), Turn("B", 4.0, 8.0), Turn("A", 6.0, 6.3)]
    assert speaker_at(4.1, 4.3, turns) == "B"  # B came in over the end of A's sentence
    assert speaker_at(4.8, 5.0, turns) == "B"
    assert speaker_at(6.1, 6.2, turns) == "A"  # A's backchannel inside B's turn
    assert speaker_at(2.0, 2.2, turns) == "A"  # one voice: its turn
    assert speaker_at(8.5, 8.7, turns) == "B"  # just outside: the nearest turn
    assert speaker_at(1.0, 1.2, []) is None


def test_a_voice_in_an_overlap_cut_into_runs_still_covers_the_word() -> None:
    # the diarizer gives the second voice of an overlap as runs a few frames apart
    turns = [Turn("A", 0.0, 5.0), Turn("B", 4.0, 4.21), Turn("B", 4.24, 4.5)]
    assert speaker_at(4.12, 4.32, turns) == "B"  # its middle, 4.22, falls between B's runs
    assert speaker_at(4.6, 4.8, turns) == "A"  # clear of B's runs


def test_production_backends_without_a_model_say_which_setting_to_give() -> None:
    with pytest.raises(ModelUnavailable) as error:
        load_transcriber(Settings(transcriber="transformers"), LEXICON)
    assert "LAHSTATS_TRANSCRIBER_MODEL is not set" in error.value.message
    assert "whisper-base" in error.value.hint
    with pytest.raises(ModelUnavailable, match="directory"):
        load_transcriber(Settings(transcriber="faster-whisper", transcriber_model=None), LEXICON)


def test_two_speakers_fixture(
    whisper: Transcriber, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    path, truth = two_speakers
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16_000
    turns = tuple(Turn(t["speaker"], t["start"], t["end"]) for t in truth["turns"])
    progress: list[tuple[str, int, int]] = []

    words = transcribe(whisper, Audio(samples), turns, on_progress=lambda *p: progress.append(p))

    assert progress[-1][0] == "transcribe"
    assert progress[-1][1] == progress[-1][2]
    assert [w.start for w in words] == sorted(w.start for w in words)
    heard = [w for w in words if is_unwritten(w)]
    words = tuple(w for w in words if not is_unwritten(w))
    assert len(words) > 15
    # Whisper base's read-out listens to every region and hears particles there; tiny's has none.
    if whisper.name == "whisper-base":
        assert any(not w.text for w in heard)
        assert {w.text for w in heard if w.text} & {"lah", "lor"}
    else:
        assert heard == []
    for word in words:
        # Word timestamps are rough: a word's middle may fall just outside its turn.
        middle = (word.start + word.end) / 2
        off, turn = min((max(t.start - middle, middle - t.end, 0.0), t) for t in turns)
        assert off < 0.4
        assert word.speaker == turn.speaker
    said = {speaker: " ".join(w.text for w in words if w.speaker == speaker) for speaker in "AB"}
    assert "hungry" in said["A"]
    assert "fussy" in said["A"]
    assert "tomorrow" in said["B"].lower()

    counted = recount((*words, *heard), turns, LEXICON)
    counts = {c.speaker: dict(c.counts) for c in counted.counts}
    # The truth: A says walao and lah, B says lor and can; each recogniser hears at least three.
    found = sum(counts.get("A", {}).get(w, 0) for w in ("walao", "lah")) + sum(
        counts.get("B", {}).get(w, 0) for w in ("lor", "can")
    )
    assert found >= 3
    assert all(set(c) <= {"walao", "lah"} for s, c in counts.items() if s == "A")


def test_silence_and_noise_give_no_words(whisper: Transcriber) -> None:
    turns = (Turn("A", 0.5, 4.5),)
    silence = Audio(np.zeros(16_000 * 5, dtype=np.float32))
    noise = Audio((np.random.default_rng(0).standard_normal(16_000 * 5) * 0.01).astype(np.float32))
    for audio in (silence, noise):
        heard = transcribe(whisper, audio, turns)
        # nothing written; the read-out may keep a faint peak, but nothing is counted
        assert [w for w in heard if not is_unwritten(w)] == []
        assert recount(heard, turns, LEXICON).counts == ()
    assert transcribe(whisper, silence, ()) == ()


def test_only_very_quiet_clips_are_brought_up_before_recognition() -> None:
    import numpy as np

    from lahstats.pipeline.recognisers.common import audible

    tone = np.sin(np.linspace(0, 2000, 16000)).astype(np.float32)
    quiet = tone * 0.002  # about -57 dBFS
    louder = audible(quiet)
    assert 0.05 < float(np.sqrt(np.mean(louder**2))) < 0.15
    assert np.abs(louder).max() < 0.99
    normal = tone * 0.2
    assert audible(normal) is normal
    silent = np.zeros(100, np.float32)
    assert audible(silent) is silent


def test_hotwords_are_off_by_default_and_reach_whisper_when_asked(
    monkeypatch: pytest.MonkeyPatch, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    from faster_whisper import WhisperModel

    seen: list[Any] = []
    real = WhisperModel.transcribe

    def recording(self: Any, audio: Any, **options: Any) -> Any:
        seen.append(options.get("hotwords"))
        return real(self, audio, **options)

    monkeypatch.setattr(WhisperModel, "transcribe", recording)
    path, truth = two_speakers
    samples, _ = sf.read(path, dtype="float32")
    first = truth["turns"][0]
    turns = (Turn(first["speaker"], first["start"], first["end"]),)
    audio = Audio(np.ascontiguousarray(samples[: int(first["end"] * 16_000)]))
    plain = load_transcriber(Settings(), LEXICON)
    assert transcribe(plain, audio, turns)
    steered = load_transcriber(Settings(transcriber_hotwords=True), LEXICON)
    assert transcribe(steered, audio, turns)
    assert seen[0] is None
    assert seen[-1] is not None
    assert set(seen[-1].split()) == set(LEXICON.words)


def test_tiny_keeps_its_own_example_and_custom_words_stay_primed() -> None:
    from lahstats.lexicon.lexicon import LexiconEntry, builtin_example
    from lahstats.pipeline.recognisers.whisper import TINY_EXAMPLE, primed_with

    lexicon = load_lexicon([LexiconEntry.of("Makan", pronunciations=["m aa k aa n"])])
    assert primed_with(lexicon, None) == lexicon.example
    tiny = primed_with(lexicon, TINY_EXAMPLE)
    assert tiny.startswith(TINY_EXAMPLE)
    assert builtin_example() not in tiny
    assert tiny.endswith("Makan.")


def _words(text: str, *, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [
        Word(said, start + n * step, start + (n + 1) * step, "A", 0.9)
        for n, said in enumerate(text.split())
    ]


def test_a_loop_is_found_where_a_run_of_words_starts_repeating() -> None:
    from lahstats.pipeline.recognisers.whisper import LOOP_REPEATS, loop_start

    def said(text: str) -> list[str]:
        return text.split()

    assert loop_start(said("so sian the bus late kiasi cheebai kiasi cheebai kiasi cheebai")) == 5
    assert loop_start(said("you you you")) == 0
    # said twice is speech ("can, can", "true, true"), not a loop
    assert loop_start(said("can can true true okay lor okay lor")) is None
    assert LOOP_REPEATS == 3


def test_a_looping_window_keeps_what_was_heard_before_the_loop_and_the_prompt_it_echoed() -> None:
    from lahstats.pipeline.recognisers.whisper import before_loop

    prompt = LEXICON.example  # "... Aiyo, alamak, bodoh, kiasi, cheebai, lanjiao."
    heard = _words(
        "Don't talk lanjiao to me. This laptop already 7 years old, Aiyo, alamak, bodoh, "
        + "kiasi, cheebai, " * 6
    )
    kept = before_loop(heard, prompt)
    assert " ".join(word.text for word in kept) == (
        "Don't talk lanjiao to me. This laptop already 7 years old,"
    )
    # a window that compresses like a loop but repeats no run is not trusted at all
    assert before_loop(_words("one two three four five six"), prompt) == []


def test_speech_after_a_loop_is_recognised_again(
    monkeypatch: pytest.MonkeyPatch, two_speakers: tuple[Path, dict[str, Any]]
) -> None:
    """The first decoding of the region loops after two words; the rest of the turn time is
    recognised again on its own, so the words after the loop are not lost."""
    from types import SimpleNamespace

    from faster_whisper import WhisperModel

    path, truth = two_speakers
    samples, _ = sf.read(path, dtype="float32")
    first = truth["turns"][0]
    turns = (Turn(first["speaker"], first["start"], first["end"]),)
    audio = Audio(np.ascontiguousarray(samples[: int(first["end"] * 16_000)]))
    real = WhisperModel.transcribe
    clips: list[float] = []

    def looping(self: Any, clip: Any, **options: Any) -> Any:
        clips.append(len(clip) / 16_000)
        if len(clips) > 1:
            return real(self, clip, **options)
        text = "Hello there, you you you you you"
        said = [SimpleNamespace(word=f" {w}", start=0.4 * n, end=0.4 * n + 0.3, probability=0.9)
                for n, w in enumerate(text.split(" "))]  # fmt: skip
        segment = SimpleNamespace(seek=0, text=text, compression_ratio=3.1, words=said)
        return iter([segment]), None

    monkeypatch.setattr(WhisperModel, "transcribe", looping)
    whisper = load_transcriber(Settings(), LEXICON)
    heard = [word for word in transcribe(whisper, audio, turns) if not is_unwritten(word)]
    assert [word.text for word in heard[:2]] == ["Hello", "there,"]
    assert len(clips) == 2
    assert clips[1] < clips[0]  # the turn time after the loop, again
    assert len(heard) > 4
    assert "you you you" not in " ".join(word.text for word in heard)
