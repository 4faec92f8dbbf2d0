"""Fixtures for the pipeline's tests: the shipped few-second clips (``shared_data`` is global)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def two_speakers() -> tuple[Path, dict[str, Any]]:
    """16.5 s of two espeak-ng voices (A, B, A) and the truth about them."""
    truth = json.loads((FIXTURES / "two_speakers.json").read_text())
    return FIXTURES / "two_speakers.flac", truth
