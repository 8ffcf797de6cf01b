"""Shared fixtures: paths to ../shared data, the Prefect test harness, a fresh store path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tonewatch.flows import prefect_env  # noqa: F401  (Prefect's environment before prefect is imported)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("TONEWATCH_SHARED_DATA") or REPO.parent / "shared" / "data")
SEED_ARTICLE = SHARED_DATA / "seed" / "kremlin-hails-putin-trump-dialogue.txt"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set TONEWATCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def seed_article() -> Path:
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article not found at {SEED_ARTICLE} (set TONEWATCH_SHARED_DATA)")
    return SEED_ARTICLE


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole test session (starting one costs 20-30 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tonewatch.duckdb"
