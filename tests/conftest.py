"""Shared fixtures: one Prefect test harness for the whole run, and the seed article's path.

(Best-effort reconstruction: the original was overwritten by mistake; its owner should check it.)
"""

import os
from pathlib import Path

import pytest

import tonewatch.flows.prefect_env  # noqa: F401  (Prefect's environment before prefect is imported)

SHARED_DATA = Path(
    os.environ.get("TONEWATCH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
SEED_ARTICLE = SHARED_DATA / "seed" / "kremlin-hails-putin-trump-dialogue.txt"


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def seed_article() -> Path:
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article not found at {SEED_ARTICLE} (set TONEWATCH_SHARED_DATA)")
    return SEED_ARTICLE
