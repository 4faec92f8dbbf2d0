"""prober: upload headers read in warm processes agree with ffprobe, fail the same way, and
survive a pool that hangs or dies."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lahstats.errors import InvalidAudio
from lahstats.pipeline import prober as prober_module
from lahstats.pipeline.decode import probe
from lahstats.pipeline.prober import Prober, probe_with_av

KINDS = ["m4a", "aac", "mp3", "webm"]  # what ffprobe read before: libsndfile reads the others


@pytest.fixture
async def prober() -> AsyncIterator[Prober]:
    found = Prober(workers=1)
    yield found
    await found.close()


@pytest.fixture(scope="module")
def streamed_webm(two_speakers: tuple[Path, Any]) -> bytes:
    """WebM as MediaRecorder writes it: no duration in the header."""
    options = ["-c:a", "libopus", "-b:a", "24k", "-f", "webm", "-live", "1", "pipe:1"]
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(two_speakers[0]), *options],
        check=True,
        capture_output=True,
    ).stdout


@pytest.mark.parametrize("kind", KINDS)
async def test_the_pool_reads_what_ffprobe_reads(
    prober: Prober, encoded: dict[str, bytes], kind: str
) -> None:
    expected = probe(encoded[kind], label="chunk 1")
    found = await prober.probe(encoded[kind], label="chunk 1")
    assert found.format == expected.format == kind
    assert (found.sample_rate, found.channels) == (expected.sample_rate, expected.channels)
    assert found.duration == pytest.approx(expected.duration, abs=0.05)


async def test_webm_without_a_duration_is_measured_from_its_packets(
    prober: Prober, streamed_webm: bytes
) -> None:
    found = await prober.probe(streamed_webm, label="chunk 0")
    assert found.duration == pytest.approx(16.49, abs=0.05)


@pytest.mark.parametrize(
    ("name", "seconds"),
    [("quiet_start.aac", 6.08), ("phone.3gp", 4.0), ("phone.opus", 4.0), ("phone.caf", 4.0)],
)
async def test_phone_formats_are_as_long_as_their_frames(
    prober: Prober, fixtures_dir: Path, name: str, seconds: float
) -> None:
    # quiet_start.aac: ADTS whose first frames are silence, which FFmpeg's guess makes 10.4 s
    found = await prober.probe((fixtures_dir / name).read_bytes(), label="chunk 0")
    assert found.duration == pytest.approx(seconds, abs=0.01)


async def test_a_vbr_mp3_without_a_xing_header_is_measured_from_its_frames(
    prober: Prober, vbr_mp3_without_xing: bytes
) -> None:
    found = await prober.probe(vbr_mp3_without_xing, label="chunk 0")
    assert found.duration == pytest.approx(16.6, abs=0.05)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 300, "moov atom not found"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 500, "Invalid data"),
    ],
    ids=["mp4-without-index", "ebml-garbage"],
)
async def test_broken_containers_are_refused_with_ffmpeg_s_reason(
    prober: Prober, data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidAudio, match=reason) as caught:
        await prober.probe(data, label="chunk 7")
    assert "chunk 7" in caught.value.message


async def test_a_truncated_m4a_is_refused(prober: Prober, encoded: dict[str, bytes]) -> None:
    with pytest.raises(InvalidAudio, match="could not be decoded"):
        await prober.probe(encoded["m4a"][:3000], label="chunk 2")


@pytest.mark.parametrize("data", [b"", b"hello, lah lah lah"], ids=["empty", "text"])
async def test_non_audio_never_reaches_the_pool(prober: Prober, data: bytes) -> None:
    with pytest.raises(InvalidAudio, match="chunk 3"):
        await prober.probe(data, label="chunk 3")
    assert prober._pool is None


async def test_a_dead_pool_is_replaced_and_ffprobe_answers_meanwhile(
    prober: Prober, encoded: dict[str, bytes]
) -> None:
    await prober.probe(encoded["m4a"], label="warm")
    pool = prober._pool
    assert pool is not None
    for process in list(pool._processes.values()):  # type: ignore[union-attr]
        process.kill()
        process.join()
    found = await prober.probe(encoded["m4a"], label="chunk 4")  # answered by ffprobe
    assert found.duration == pytest.approx(16.49, abs=0.1)
    again = await prober.probe(encoded["webm"], label="chunk 5")  # by a new pool
    assert prober._pool is not None
    assert prober._pool is not pool
    assert again.format == "webm"


async def test_a_pool_that_keeps_failing_is_given_up_for_ffprobe(
    encoded: dict[str, bytes],
) -> None:
    # A time limit no probe can meet stands in for a demuxer that hangs.
    slow = Prober(workers=1, timeout=1e-6)
    try:
        for n in range(prober_module._MAX_FAILURES):
            found = await slow.probe(encoded["m4a"], label=f"chunk {n}")
            assert found.duration == pytest.approx(16.49, abs=0.1)
        assert slow._usable is False
        assert slow._pool is None
        assert (await slow.probe(encoded["webm"], label="chunk 9")).format == "webm"
        assert slow._pool is None  # ffprobe only from now on
    finally:
        await slow.close()


def test_probe_with_av_runs_in_this_process_too(encoded: dict[str, bytes]) -> None:
    assert probe_with_av(encoded["m4a"], "m4a", "chunk").duration == pytest.approx(16.49, abs=0.1)


async def test_probes_run_side_by_side(prober: Prober, encoded: dict[str, bytes]) -> None:
    found = await asyncio.gather(*(prober.probe(encoded["m4a"], label=f"c{n}") for n in range(8)))
    assert {round(info.duration, 1) for info in found} == {round(found[0].duration, 1)}


async def test_closing_a_pool_that_is_still_starting_leaves_no_process_behind() -> None:
    # A server stopped right after start-up: its children must not outlive it (each holds both
    # ends of the pool's queue, so it would wait for work for ever, holding the server's stdout).
    starting = Prober(workers=2)
    starting.start()
    assert starting._pool is not None
    processes = list(starting._pool._processes.values())  # type: ignore[union-attr]
    await starting.close()
    assert processes
    assert not any(process.is_alive() for process in processes)
    assert starting._pool is None
