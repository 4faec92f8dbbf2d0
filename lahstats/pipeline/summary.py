"""An ``Analysis`` as people and programs read it: a JSON-able dict and a terminal report.

Pure formatting: nothing here runs a model or touches storage.
"""

from __future__ import annotations

from typing import Any

from lahstats.pipeline.types import Analysis


def clock(seconds: float) -> str:
    """``mm:ss.s`` (or ``h:mm:ss.s`` past an hour)."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes:02d}:{rest:04.1f}"


def summarise(analysis: Analysis, *, words_order: tuple[str, ...] = ()) -> dict[str, Any]:
    """The analysis as plain data (what ``lahstats analyze --json`` prints)."""
    counts = {entry.speaker: entry.counts for entry in analysis.counts}

    def ordered(speaker: str) -> dict[str, int]:
        said = counts.get(speaker, {})
        keys = [w for w in words_order if w in said] + sorted(set(said) - set(words_order))
        return {word: said[word] for word in keys}

    return {
        "duration_seconds": round(analysis.duration, 3),
        "gaps": [{"chunk_number": gap.number, "at": round(gap.at, 3)} for gap in analysis.gaps],
        "speakers": [
            {
                "speaker": speaker,
                "speaking_seconds": round(analysis.speaking_time(speaker), 2),
                "total_words": sum(counts.get(speaker, {}).values()),
                "word_counts": ordered(speaker),
                "sample": next(
                    (
                        {"start": round(s.start, 2), "end": round(s.end, 2), "bytes": len(s.data)}
                        for s in analysis.samples
                        if s.speaker == speaker
                    ),
                    None,
                ),
            }
            for speaker in analysis.speakers
        ],
        "turns": [
            {"speaker": t.speaker, "start": round(t.start, 3), "end": round(t.end, 3)}
            for t in analysis.turns
        ],
        "transcript": [
            {
                "speaker": s.speaker,
                "start": round(s.start, 2),
                "end": round(s.end, 2),
                "text": s.text,
            }
            for s in analysis.segments
        ],
        "corrections": [
            {"heard": w.heard, "word": w.text, "speaker": w.speaker, "start": round(w.start, 2)}
            for w in analysis.words
            if w.heard is not None
        ],
        "timings_seconds": {stage: round(t, 3) for stage, t in analysis.timings.items()},
    }


def render(analysis: Analysis, *, words_order: tuple[str, ...] = ()) -> str:
    """A per-speaker table of counts and speaking time, then the transcript with times."""
    data = summarise(analysis, words_order=words_order)
    lines = [f"Recording: {clock(analysis.duration)}, {len(data['speakers'])} speaker(s)"]
    for gap in analysis.gaps:
        lines.append(f"  ! chunk {gap.number} is missing (gap at {clock(gap.at)})")
    if not data["speakers"]:
        lines.append("No speech found.")
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'speaker':<12} {'speaking':>9} {'words':>6}  counts")
    for speaker in data["speakers"]:
        said = ", ".join(f"{w} {n}" for w, n in speaker["word_counts"].items()) or "-"
        lines.append(
            f"{speaker['speaker']:<12} {clock(speaker['speaking_seconds']):>9} "
            f"{speaker['total_words']:>6}  {said}"
        )
    lines.append("")
    lines.append("Transcript")
    for segment in analysis.segments:
        lines.append(
            f"[{clock(segment.start)} - {clock(segment.end)}] {segment.speaker}: {segment.text}"
        )
    return "\n".join(lines)
