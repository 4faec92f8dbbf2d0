"""An evaluation set on disk: ``DIRECTORY/index.json`` and the references it points to.

Each index entry names an audio file and, where known, its reference turns (RTTM), transcript,
per-speaker target-word counts (``{speaker: {word: count}}``), chunk manifest and how trustworthy
the counts are (``groundtruth_quality``: "exact (by construction)" for synthetic speech, human or
silver for real clips). Paths in the index are relative to the index. This module only reads;
it never copies the data anywhere (some of it may only be used for evaluation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lahstats.errors import InvalidInput
from lahstats.evaluation.rttm import read_rttm
from lahstats.pipeline.types import Turn

GroundTruth = Mapping[str, Mapping[str, int]]
_Number = TypeVar("_Number", int, float)

_ENTRY_FORMAT = (
    'index.json must be {"entries": [{"id": ..., "kind": ..., "audio": "relative/path", '
    '"rttm"?, "transcript"?, "groundtruth"?, "groundtruth_quality"?, "chunks_manifest"?, '
    '"n_speakers"?, "duration_s"?}, ...]}'
)


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording of an evaluation set and what is known about it (``None``: not known)."""

    id: str
    kind: str  # synthetic_conversation, synthetic_session, real, adversarial
    audio: Path
    rttm: Path | None
    transcript: Path | None
    groundtruth: GroundTruth | None
    exact: bool  # the counts are exact by construction, not a human's or a recogniser's
    chunks: tuple[Path, ...]  # the recording cut as the app uploads it, in order
    n_speakers: int | None
    duration: float | None

    @property
    def family(self) -> str:
        """``synthetic``, ``real`` or ``adversarial``: recordings with the same targets."""
        return self.kind.split("_", 1)[0]


def load_dataset(directory: Path, *, include_adversarial: bool = False) -> tuple[Recording, ...]:
    """The recordings listed in ``directory/index.json``, in index order.

    Entries without audio (a list of clips rather than one recording) are left out, and so are
    adversarial inputs unless asked for: they have no reference to score against and some are
    meant to be rejected (their expectations are checked by the pipeline's own tests).
    """
    index = directory / "index.json"
    if not index.is_file():
        raise InvalidInput(
            f"{index} not found",
            hint="Point at a dataset folder holding index.json, e.g. ../shared/data/dev.",
        )
    try:
        document = json.loads(index.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{index} is not valid JSON: {exc}", hint=_ENTRY_FORMAT) from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput(f"{index} has no list of entries", hint=_ENTRY_FORMAT)
    recordings = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise InvalidInput(f"{index}: entry {position} has no string id", hint=_ENTRY_FORMAT)
        if entry.get("audio") is None:
            continue
        if entry.get("kind") == "adversarial" and not include_adversarial:
            continue
        recordings.append(_recording(entry, directory, f"{index}, entry {entry['id']!r}"))
    return tuple(recordings)


def reference_turns(recording: Recording) -> tuple[Turn, ...]:
    """The reference speaker turns from the recording's RTTM; ``ValueError`` when it has none."""
    if recording.rttm is None:
        raise ValueError(f"recording {recording.id} has no reference RTTM")
    return read_rttm(recording.rttm)


def reference_text(recording: Recording) -> str | None:
    """The reference transcript as one text in time order, for WER; ``None`` when unknown.

    Understands ``*.transcript.json`` (utterance segments; silver sets hold recognisers' texts,
    of which the first found is used), STM, and plain text. A folder of per-speaker texts has no
    timing to put its words in order, so it gives ``None`` rather than a misleading WER.
    """
    path = recording.transcript
    if path is None or not path.is_file():
        return None
    if path.suffix == ".json":
        return _transcript_json_text(json.loads(path.read_text(encoding="utf-8")))
    if path.suffix == ".stm":
        return _stm_text(path.read_text(encoding="utf-8"))
    return " ".join(path.read_text(encoding="utf-8").split())


def _recording(entry: dict[str, Any], directory: Path, where: str) -> Recording:
    def path(key: str) -> Path | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: {key} must be a relative path, got {value!r}")
        return directory / value

    audio = path("audio")
    assert audio is not None  # entries without audio are skipped by the caller
    groundtruth_path = path("groundtruth")
    manifest = path("chunks_manifest")
    quality = entry.get("groundtruth_quality") or ""
    return Recording(
        id=entry["id"],
        kind=str(entry.get("kind") or "unknown"),
        audio=audio,
        rttm=path("rttm"),
        transcript=path("transcript"),
        groundtruth=None if groundtruth_path is None else _groundtruth(groundtruth_path),
        exact=groundtruth_path is not None and str(quality).lower().startswith("exact"),
        chunks=() if manifest is None else _chunks(manifest),
        n_speakers=_optional_number(entry, "n_speakers", int, where),
        duration=_optional_number(entry, "duration_s", float, where),
    )


def _optional_number(
    entry: dict[str, Any], key: str, kind: type[_Number], where: str
) -> _Number | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: {key} must be a number, got {value!r}", hint=_ENTRY_FORMAT)
    return kind(value)


def _groundtruth(path: Path) -> GroundTruth:
    """``{speaker: {word: count}}``; silver files nest several such variants, the first is used."""
    document = _read_json(path)
    if document and all(_is_counts_by_speaker(value) for value in document.values()):
        document = next(iter(document.values()))
    if not _is_counts_by_speaker(document):
        raise InvalidInput(
            f"{path} is not ground truth",
            hint='Ground truth is {"speaker": {"word": count, ...}, ...} with integer counts.',
        )
    return {speaker: dict(counts) for speaker, counts in document.items()}


def _is_counts_by_speaker(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(counts, dict)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in counts.values())
        for counts in value.values()
    )


def _chunks(manifest: Path) -> tuple[Path, ...]:
    document = _read_json(manifest)
    chunks = document.get("chunks") if isinstance(document, dict) else None
    if not isinstance(chunks, list) or not all(
        isinstance(chunk, dict) and isinstance(chunk.get("file"), str) for chunk in chunks
    ):
        raise InvalidInput(
            f"{manifest} has no list of chunks",
            hint='A chunk manifest is {"chunks": [{"index": 0, "file": "name.wav"}, ...]}.',
        )
    ordered = sorted(enumerate(chunks), key=lambda item: (item[1].get("index", item[0]), item[0]))
    return tuple(manifest.parent / chunk["file"] for _, chunk in ordered)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path} not found; the dataset's index names it") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from None


def _transcript_json_text(document: Any) -> str | None:
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        return None
    timed = []
    for segment in segments:
        text = next(
            (segment[key] for key in ("text", "text_qwen3", "text_whisper") if segment.get(key)),
            None,
        )
        if isinstance(text, str):
            timed.append((float(segment.get("start", 0.0)), text))
    return " ".join(text for _, text in sorted(timed, key=lambda item: item[0])) or None


def _stm_text(text: str) -> str | None:
    # STM: uri channel speaker start end [<label>] words...; ";;" lines are comments.
    timed = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or line.startswith(";;"):
            continue
        words = fields[5:]
        if words and words[0].startswith("<"):
            words = words[1:]
        if fields[2] == "inter_segment_gap" or words == ["ignore_time_segment_in_scoring"]:
            continue
        timed.append((float(fields[3]), " ".join(words)))
    return " ".join(words for _, words in sorted(timed, key=lambda item: item[0]) if words) or None
