"""``lahstats doctor``: checks each part this configuration needs and says how to fix failures."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Literal

from lahstats.errors import LahstatsError
from lahstats.pipeline.backends import inspect_models, resolve_device
from lahstats.runtime.health import check_database, check_migrations, check_queue, check_storage
from lahstats.runtime.resources import Runtime
from lahstats.settings import Settings

Verdict = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Verdict
    detail: str
    fix: str = ""


def _settings_findings(settings: Settings) -> list[Finding]:
    problems = settings.problems()
    if not problems:
        return [Finding("settings", "ok", f"environment {settings.env.value}")]
    return [Finding("settings", "FAIL", p.message, p.hint) for p in problems]


def _ffmpeg() -> Finding:
    path = shutil.which("ffmpeg")
    if path is None:
        return Finding(
            "ffmpeg",
            "FAIL",
            "not on PATH (needed to decode m4a, mp3 and webm chunks)",
            "apt-get install ffmpeg (Debian/Ubuntu) or brew install ffmpeg (macOS)",
        )
    try:
        first = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [path, "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        return Finding("ffmpeg", "FAIL", f"{path} does not run: {exc}", "Reinstall ffmpeg.")
    return Finding("ffmpeg", "ok", " ".join(first.split()[:3]))


def _model_findings(settings: Settings) -> list[Finding]:
    findings = []
    for status in inspect_models(settings):
        name = f"model {status.role}"
        detail = f"{status.backend} {status.version or ''}".strip() + f": {status.detail}"
        verdict: Verdict = {"ok": "ok", "remote": "warn", "missing": "FAIL"}[status.state]  # type: ignore[assignment]
        findings.append(Finding(name, verdict, detail, status.fix or ""))
    device = resolve_device(settings.device)
    if settings.device == "cuda" and device == "cuda":
        findings.append(Finding("device", "ok", "cuda"))
    elif settings.device == "cuda":
        findings.append(
            Finding("device", "FAIL", "cuda requested", "Set LAHSTATS_DEVICE=auto or cpu.")
        )
    else:
        findings.append(Finding("device", "ok", f"{device} (setting {settings.device})"))
    return findings


async def _service_findings(settings: Settings) -> list[Finding]:
    try:
        runtime = Runtime.build(settings)
    except LahstatsError as exc:
        return [Finding("runtime", "FAIL", exc.message, exc.hint)]
    findings: list[Finding] = []
    try:
        for part in await asyncio.gather(
            check_database(runtime), check_queue(runtime), check_storage(runtime)
        ):
            label = f"{part.name} ({part.backend})"
            findings.append(
                Finding(label, "ok" if part.ok else "FAIL", part.detail, part.fix or "")
            )
        if findings[0].status == "ok":
            part = await check_migrations(runtime)
            findings.append(
                Finding("migrations", "ok" if part.ok else "FAIL", part.detail, part.fix or "")
            )
    finally:
        await runtime.stop()
    return findings


def diagnose(settings: Settings) -> list[Finding]:
    findings = _settings_findings(settings)
    findings += asyncio.run(_service_findings(settings))
    findings.append(_ffmpeg())
    findings += _model_findings(settings)
    return findings


def render_table(findings: list[Finding]) -> str:
    headers = ("CHECK", "STATUS", "DETAIL", "FIX")
    rows = [headers, *((f.check, f.status, f.detail, f.fix) for f in findings)]
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(3)]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(3)]
        return "  ".join([*cells, row[3]]).rstrip()

    return "\n".join(
        [line(rows[0]), "  ".join("-" * w for w in widths) + "  ---", *map(line, rows[1:])]
    )


def as_dicts(findings: list[Finding]) -> list[dict[str, str]]:
    return [asdict(f) for f in findings]
