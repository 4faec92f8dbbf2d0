"""Which audio container a byte string really is, from its first bytes.

Clients name files whatever they like (an MP3 called ``.wav``, text called ``.wav``), so the decoder
trusts only the magic bytes read here. This module reads bytes and returns names; it must never
decode audio, call ffmpeg or raise: an unknown format is ``None``, for the decoder to reject.
"""

from __future__ import annotations

from typing import Literal

AudioFormat = Literal["wav", "flac", "ogg", "mp3", "m4a", "aac", "webm", "caf", "aiff"]

# ID3v2 header: "ID3", version (2), flags (1), size (4 bytes of 7 bits each).
_ID3_HEADER = 10
_ID3_FOOTER_FLAG = 0x10
_MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"
# (magic bytes, offset, format) for the containers that announce themselves plainly
_MAGIC: tuple[tuple[bytes, int, AudioFormat], ...] = (
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),  # EBML: WebM and Matroska
    (b"ftyp", 4, "m4a"),  # ISO BMFF: m4a, mp4, 3gp
    (b"caff", 0, "caf"),
)


def sniff(data: bytes) -> AudioFormat | None:
    """The container format of ``data``, or ``None`` when it starts like no audio we read."""
    head = data[:12]
    if len(head) < 4:
        return None
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    for magic, at, fmt in _MAGIC:
        if head[at : at + len(magic)] == magic:
            return fmt
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:3] == b"ID3":
        # A tag says nothing about what follows it: MP3 usually, FLAC or ADTS sometimes.
        after = _skip_id3(data)
        if after[:4] == b"fLaC":
            return "flac"
        if _is_adts(after):
            return "aac"
        return "mp3"
    if _is_adts(data):
        return "aac"
    if _is_mpeg_audio_frame(data):
        return "mp3"
    return None


def describe_non_audio(data: bytes) -> str:
    """A few words on what ``data`` looks like instead of audio, for an error message."""
    known = {
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"GIF8": "a GIF image",
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a ZIP archive",
        b"\x1f\x8b": "gzip data",
        _MATROSKA_CLUSTER: (
            "a WebM piece without its header (record each chunk as a standalone file, "
            "e.g. restart MediaRecorder per chunk)"
        ),
    }
    for magic, what in known.items():
        if data.startswith(magic):
            return f"looks like {what}"
    if _looks_like_text(data):
        return "looks like text"
    return f"unknown format (starts with {data[:8].hex(' ')})"


def _skip_id3(data: bytes) -> bytes:
    if len(data) < _ID3_HEADER:
        return b""
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    end = _ID3_HEADER + size + (_ID3_HEADER if data[5] & _ID3_FOOTER_FLAG else 0)
    return data[end : end + 12]


def _is_adts(data: bytes) -> bool:
    # 12 sync bits, then layer 00 (MPEG audio frames never use layer 00), and a real rate index.
    return (
        len(data) >= 4 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0 and (data[2] >> 2) & 0xF < 13
    )


def _is_mpeg_audio_frame(data: bytes) -> bool:
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version = (data[1] >> 3) & 0x3
    layer = (data[1] >> 1) & 0x3
    bitrate = data[2] >> 4
    rate = (data[2] >> 2) & 0x3
    # Reserved values: random bytes that happen to start with 0xFFE are rejected here.
    return version != 0b01 and layer != 0b00 and bitrate != 0xF and rate != 0b11


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    text = sample.decode("utf-8", errors="replace")
    printable = sum(1 for char in text if char.isprintable() or char in "\t\r\n")
    return printable >= 0.95 * len(text)
