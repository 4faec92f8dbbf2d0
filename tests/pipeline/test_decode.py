"""decode: every upload format to 16 kHz mono, sniffed from bytes; bad input named and explained.

Encoded variants of the shipped two-speaker clip are made with ffmpeg at run time (one session
fixture), so the repository carries no extra audio.
"""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import structlog
from structlog.testing import capture_logs

import lahstats.pipeline.decode as decode_module
from lahstats.errors import ConfigurationError, InvalidAudio
from lahstats.pipeline.decode import (
    AudioInfo,
    decode_bytes,
    decode_chunks,
    decode_file,
    decode_files,
    decode_in_pieces,
    decode_span,
    probe,
)
from lahstats.pipeline.sniff import sniff
from lahstats.pipeline.types import SAMPLE_RATE, Chunk, Gap
from tests.pipeline.conftest import ENCODINGS, SNIFFED, ffmpeg

CLIP_SECONDS = 16.49


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def tone(freq: float, seconds: float = 1.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)


def strongest(samples: np.ndarray, freq: float) -> float:
    """Magnitude of ``samples`` at ``freq`` relative to their strongest frequency."""
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(spectrum[np.argmin(np.abs(freqs - freq))] / spectrum.max())


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"RF64\xff\xff\xff\xffWAVEds64", "wav"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02\x00\x00", "ogg"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
        (b"\x00\x00\x00\x1cftypM4A ", "m4a"),
        (b"\x00\x00\x00\x20ftypisom", "m4a"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"\xff\xfb\x90\x64", "mp3"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x02\x00\x00fLaC", "flac"),
        (b"\xff\xfb\x90\x64\x00\x00", "mp3"),  # MPEG-1 layer III frame, no tag
        (b"\xff\xf1\x50\x80\x02\x1f", "aac"),  # ADTS
        (b"caff\x00\x01\x00\x00", "caf"),
        (b"FORM\x00\x00\x10\x00AIFF", "aiff"),
        (b"This is not audio", None),
        (b"\xff\xff\xff\xff\xff\xff", None),  # reserved MPEG bits: not a frame
        (b"\x89PNG\r\n\x1a\n", None),
        (b"RIF", None),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_sniff_reads_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize("kind", list(ENCODINGS))
def test_every_upload_format_decodes_to_16k_mono(encoded: dict[str, bytes], kind: str) -> None:
    data = encoded[kind]
    assert sniff(data) == SNIFFED.get(kind, kind)

    samples = decode_bytes(data, label=f"chunk 0 (clip.{kind})")

    assert samples.dtype == np.float32
    assert samples.ndim == 1
    # Raw ADTS carries no priming information: the encoder's ~0.1 s of padding stays in.
    slack = 0.15 if kind == "aac" else 0.05
    assert len(samples) / SAMPLE_RATE == pytest.approx(CLIP_SECONDS, abs=slack)
    # Speech, not silence or noise: the loud part is where the truth says people talk.
    assert 0.01 < float(np.sqrt(np.mean(samples**2))) < 0.5
    assert np.abs(samples[int(14 * SAMPLE_RATE) : int(14.5 * SAMPLE_RATE)]).max() > 0.05


@pytest.mark.parametrize("kind", ["wav", "m4a", "webm"])
def test_probe_reads_the_header(encoded: dict[str, bytes], kind: str) -> None:
    info = probe(encoded[kind], label="chunk 1")
    assert info.format == kind
    assert info.duration == pytest.approx(CLIP_SECONDS, abs=0.1)
    assert (info.sample_rate, info.channels) == {
        "wav": (44100, 2),
        "m4a": (16000, 1),
        "webm": (48000, 1),
    }[kind]


def test_probe_measures_webm_without_a_duration(two_speakers: tuple[Path, Any]) -> None:
    # MediaRecorder (like ffmpeg writing to a pipe) cannot go back to write the duration.
    options = ["-c:a", "libopus", "-b:a", "24k", "-f", "webm", "pipe:1"]
    streamed = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(two_speakers[0]), *options],
        check=True,
        capture_output=True,
    ).stdout
    assert probe(streamed).duration == pytest.approx(CLIP_SECONDS, abs=0.05)


def ffprobe_guess(path: Path) -> float:
    """The duration FFmpeg reports from the headers, a bitrate guess for a headerless stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out)


def test_an_adts_stream_is_as_long_as_its_frames(fixtures_dir: Path) -> None:
    # 2 s of silence, then 4 s of speech: the first frames' bitrate makes FFmpeg guess 10.4 s.
    path = fixtures_dir / "quiet_start.aac"
    assert ffprobe_guess(path) > 9
    data = path.read_bytes()
    info = probe(data, label="chunk 0")
    assert info.format == "aac"
    assert info.duration == pytest.approx(len(decode_bytes(data)) / SAMPLE_RATE, abs=0.01)
    assert info.duration == pytest.approx(6.08, abs=0.01)  # 190 frames of 1024 samples


def test_a_vbr_mp3_without_a_xing_header_is_read_to_its_end(
    vbr_mp3_without_xing: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "vbr.mp3"
    path.write_bytes(vbr_mp3_without_xing)
    assert ffprobe_guess(path) < 14  # 12.9 s, guessed from the first frames' bitrate
    # libsndfile guessed the same way and stopped decoding there (9.4 s of 16.6 s)
    assert len(decode_bytes(vbr_mp3_without_xing)) / SAMPLE_RATE == pytest.approx(16.6, abs=0.05)
    assert probe(vbr_mp3_without_xing).duration == pytest.approx(16.6, abs=0.05)


@pytest.mark.parametrize("container", ["wav", "webm"])
def test_stereo_is_mixed_down_keeping_both_channels(tmp_path: Path, container: str) -> None:
    # One voice per channel (a phone with two mics): taking the first channel loses the other.
    rate = 48000 if container == "webm" else SAMPLE_RATE
    source = tmp_path / "stereo.wav"
    sf.write(source, np.stack([tone(440, rate=rate), tone(1000, rate=rate)], axis=1), rate)
    if container == "webm":
        source = ffmpeg(source, tmp_path / "stereo.webm", ["-c:a", "libopus", "-b:a", "64k"])

    mono = decode_bytes(source.read_bytes())

    assert strongest(mono, 440) > 0.5
    assert strongest(mono, 1000) > 0.5


def test_other_rates_are_resampled_to_16k() -> None:
    mono = decode_bytes(wav_bytes(tone(1000, 2.0, rate=44100), rate=44100))
    assert len(mono) == 2 * SAMPLE_RATE
    assert strongest(mono, 1000) == 1.0


def test_wav_with_zero_samples_is_empty_audio_not_an_error() -> None:
    data = wav_bytes(np.zeros(0))
    assert len(data) == 44
    assert decode_bytes(data).shape == (0,)
    assert probe(data).duration == 0.0


def test_truncated_wav_gives_the_samples_it_holds() -> None:
    # The header promises 2 s; the upload was cut off after 0.5 s.
    data = wav_bytes(tone(300, 2.0))[: 44 + 2 * SAMPLE_RATE // 2]
    assert len(decode_bytes(data)) == SAMPLE_RATE // 2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "chunk 3 (foo.m4a) is empty (0 bytes)"),
        (b"lah lor walao\n" * 20, "chunk 3 (foo.m4a) is not audio: looks like text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "is not audio: looks like a PNG image"),
        (bytes(range(256)) * 4, "is not audio: unknown format (starts with 00 01 02"),
        (b"\x1f\x43\xb6\x75" + bytes(100), "WebM piece without its header"),
    ],
    ids=["empty", "text", "png", "binary", "webm-continuation"],
)
def test_non_audio_is_rejected_with_label_and_reason(data: bytes, reason: str) -> None:
    for check in (decode_bytes, probe):
        with pytest.raises(InvalidAudio, match="chunk 3") as raised:
            check(data, label="chunk 3 (foo.m4a)")
        assert reason in raised.value.message


def test_undecodable_m4a_gives_ffmpegs_reason(encoded: dict[str, bytes]) -> None:
    # The first half of an MP4 has no index (moov comes last): nothing can be decoded.
    broken = encoded["m4a"][: len(encoded["m4a"]) // 2]
    with pytest.raises(InvalidAudio, match=r"^chunk 2 \(x.m4a\) could not be decoded: ") as raised:
        decode_bytes(broken, label="chunk 2 (x.m4a)")
    assert "moov atom not found" in raised.value.message
    assert (
        "/tmp" not in raised.value.message
    )  # our temporary file's path is not the user's business


def test_missing_ffmpeg_is_a_configuration_error(
    encoded: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ConfigurationError, match="ffmpeg is not installed") as raised:
        decode_bytes(encoded["m4a"])
    assert "make system-deps" in raised.value.hint
    # What libsndfile reads needs no ffmpeg.
    assert len(decode_bytes(encoded["flac"])) > 0


def chunks_of(samples: np.ndarray, numbers: list[int], seconds: float = 2.0) -> list[Chunk]:
    step = round(seconds * SAMPLE_RATE)
    return [
        Chunk(number, wav_bytes(samples[i * step : (i + 1) * step]), name=f"part{number}.wav")
        for i, number in enumerate(numbers)
    ]


def test_chunks_are_joined_in_number_order(two_speakers: tuple[Path, Any]) -> None:
    full = decode_file(two_speakers[0]).samples
    chunks = chunks_of(full, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    progress: list[tuple[str, int, int]] = []

    audio = decode_chunks(list(reversed(chunks)), on_progress=lambda *call: progress.append(call))

    assert audio.gaps == ()
    np.testing.assert_allclose(audio.samples, full, atol=1e-4)  # 16-bit chunks
    assert progress[0] == ("decode", 0, 9)
    assert progress[-1] == ("decode", 9, 9)


def test_a_missing_chunk_is_a_gap_and_the_rest_decodes(
    two_speakers: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    full = decode_file(two_speakers[0]).samples
    chunks = chunks_of(full, [0, 1, 3, 6])
    with capture_logs() as logs:
        # A fresh logger: the module's one may be cached with the app's processors.
        monkeypatch.setattr(decode_module, "log", structlog.get_logger("test"))
        audio = decode_chunks(chunks)

    assert audio.gaps == (Gap(number=2, at=4.0), Gap(number=4, at=6.0), Gap(number=5, at=6.0))
    assert audio.duration == pytest.approx(8.0)
    assert [(e["event"], e["chunk"]) for e in logs if e["event"] == "decode.gap"] == [
        ("decode.gap", 2),
        ("decode.gap", 4),
        ("decode.gap", 5),
    ]


def test_duplicate_chunk_numbers(two_speakers: tuple[Path, Any]) -> None:
    full = decode_file(two_speakers[0]).samples
    first, second = chunks_of(full, [0, 1])
    # A client retry sends the same bytes again: kept once.
    assert decode_chunks([first, second, second]).duration == pytest.approx(4.0)
    with pytest.raises(InvalidAudio, match="chunk 1 was given twice with different contents"):
        decode_chunks([first, second, Chunk(1, first.data, name="other.wav")])


def test_a_bad_chunk_is_named(two_speakers: tuple[Path, Any]) -> None:
    full = decode_file(two_speakers[0]).samples
    chunks = [*chunks_of(full, [0, 1]), Chunk(2, b"not audio at all", name="foo.m4a")]
    with pytest.raises(InvalidAudio, match=r"chunk 2 \(foo.m4a\) is not audio: looks like text"):
        decode_chunks(chunks)


def test_no_chunks_is_invalid() -> None:
    with pytest.raises(InvalidAudio, match="no chunks"):
        decode_chunks([])


def test_files_are_labelled_by_name(tmp_path: Path, encoded: dict[str, bytes]) -> None:
    (tmp_path / "a.mp3").write_bytes(encoded["mp3"])
    (tmp_path / "b.wav").write_bytes(b"lah " * 100)
    assert decode_files([tmp_path / "a.mp3"]).duration == pytest.approx(CLIP_SECONDS, abs=0.05)
    with pytest.raises(InvalidAudio, match=r"^b.wav is not audio"):
        decode_files([tmp_path / "a.mp3", tmp_path / "b.wav"])
    with pytest.raises(InvalidAudio, match=r"^missing.wav cannot be read"):
        decode_file(tmp_path / "missing.wav")


def test_audio_info_is_frozen() -> None:
    info = AudioInfo("wav", 1.0, 16000, 1)
    with pytest.raises(AttributeError):
        info.duration = 2.0  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["mp3", "m4a", "flac"])
def test_a_long_upload_decodes_a_piece_at_a_time_to_the_same_samples(
    encoded: dict[str, bytes], kind: str
) -> None:
    whole = decode_module._decode_with_ffmpeg(encoded[kind], sniff(encoded[kind]), "clip")
    pieces = list(decode_in_pieces(encoded[kind], 5.0, label="clip"))

    assert [len(piece) for piece in pieces[:-1]] == [5 * SAMPLE_RATE] * (len(pieces) - 1)
    assert 0 < len(pieces[-1]) <= 5 * SAMPLE_RATE
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_a_span_is_found_by_seeking_to_within_a_frame(encoded: dict[str, bytes]) -> None:
    whole = decode_bytes(encoded["flac"])
    span = decode_span(encoded["flac"], 6.0, 3.0, label="clip")

    assert len(span) == 3 * SAMPLE_RATE
    # the same sound, shifted by a few samples at most
    best = max(
        float(np.corrcoef(span, whole[6 * SAMPLE_RATE + shift : 9 * SAMPLE_RATE + shift])[0, 1])
        for shift in range(-32, 33)
    )
    assert best > 0.99


def test_a_long_upload_that_is_not_audio_fails_naming_it() -> None:
    with pytest.raises(InvalidAudio, match="chunk 3 is not audio"):
        list(decode_in_pieces(b"<html>" + bytes(4096), 30.0, label="chunk 3"))


def test_a_long_upload_cut_short_fails_after_the_pieces_it_had(encoded: dict[str, bytes]) -> None:
    data = encoded["m4a"]
    pieces = decode_in_pieces(data[: len(data) // 2], 5.0, label="chunk 0")
    with pytest.raises(InvalidAudio, match="chunk 0 could not be decoded"):
        list(pieces)


def test_a_long_upload_that_decodes_past_its_time_is_stopped(
    encoded: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode_module, "_timeout", lambda data: 0.0)
    with pytest.raises(InvalidAudio, match="took longer than 0 s"):
        list(decode_in_pieces(encoded["mp3"], 5.0, label="chunk 0"))


def test_a_long_upload_taken_slowly_is_not_cut_by_the_decode_timeout(
    encoded: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # each 30 s piece of a 2-hour upload is looked at for seconds: the pieces are taken over
    # half an hour, far past the time ffmpeg is given to decode
    whole = decode_module._decode_with_ffmpeg(encoded["mp3"], sniff(encoded["mp3"]), "clip")
    monkeypatch.setattr(decode_module, "_timeout", lambda data: 1.0)
    pieces = decode_in_pieces(encoded["mp3"], 5.0, label="chunk 0")
    taken = [next(pieces)]
    time.sleep(1.5)
    taken += list(pieces)

    np.testing.assert_array_equal(np.concatenate(taken), whole)
