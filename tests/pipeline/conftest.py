"""Fixtures for the pipeline's tests: the shipped few-second clips and the shared evaluation data.

The shared data (``../shared/data`` beside the project, or ``LAHSTATS_TEST_DATA``) is never copied
into the project; tests that need it skip, saying why, when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
SHARED_DATA = Path(
    os.environ.get(
        "LAHSTATS_TEST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def two_speakers() -> tuple[Path, dict[str, Any]]:
    """14 s of two espeak-ng voices (A, B, A) and the truth about them."""
    truth = json.loads((FIXTURES / "two_speakers.json").read_text())
    return FIXTURES / "two_speakers.flac", truth


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (see its README); skips when this checkout has none beside it."""
    if not (SHARED_DATA / "dev" / "index.json").is_file():
        pytest.skip(
            f"shared evaluation data not found at {SHARED_DATA} "
            "(put it beside the project or set LAHSTATS_TEST_DATA)"
        )
    return SHARED_DATA
