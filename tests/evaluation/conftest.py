"""Fixtures for the evaluation's tests: the shared evaluation data (skips when absent).

Same lookup as ``tests/pipeline/conftest.py``: ``../shared/data`` beside the project, or
``LAHSTATS_TEST_DATA``. The data is never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "LAHSTATS_TEST_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (see its README); skips when this checkout has none beside it."""
    if not (SHARED_DATA / "dev" / "index.json").is_file():
        pytest.skip(
            f"shared evaluation data not found at {SHARED_DATA} "
            "(put it beside the project or set LAHSTATS_TEST_DATA)"
        )
    return SHARED_DATA
