"""Where a session's blobs live. Every key is built here, from ids the service made.

    sessions/<session uuid>/chunks/000003-<sha256[:16]>.m4a    an uploaded chunk
    sessions/<session uuid>/samples/speaker_00.mp3             a speaker's sample clip

A chunk key carries a prefix of its content hash, so two racing uploads of one chunk number with
different bytes never overwrite each other's blob. Nothing a client sends (file names, labels)
reaches a key unchecked: labels are reduced to ``[a-z0-9_-]``.
"""

from __future__ import annotations

import re
import uuid

_LABEL_UNSAFE = re.compile(r"[^a-z0-9_\-]+")


def session_prefix(session_id: uuid.UUID) -> str:
    """Everything stored for one session: removed with it."""
    return f"sessions/{session_id}/"


def chunk_key(session_id: uuid.UUID, number: int, sha256: str, extension: str) -> str:
    ext = _LABEL_UNSAFE.sub("", extension.lower()) or "bin"
    return f"{session_prefix(session_id)}chunks/{number:06d}-{sha256[:16]}.{ext}"


def samples_prefix(session_id: uuid.UUID) -> str:
    return f"{session_prefix(session_id)}samples/"


def sample_key(session_id: uuid.UUID, speaker_label: str, extension: str = "mp3") -> str:
    label = _LABEL_UNSAFE.sub("-", speaker_label.lower()).strip("-") or "speaker"
    return f"{samples_prefix(session_id)}{label}.{extension}"
