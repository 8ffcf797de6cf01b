"""Named defaults and the ``Settings`` a run is built from, checked once at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_PATH = Path("tonewatch.duckdb")
DEFAULT_REPORT_PATH = Path("reports") / "latest.html"
# The demo's report keeps the name the quick start promises.
DEMO_REPORT_PATH = Path("reports") / "tonewatch.html"
DB_ENV_VAR = "TONEWATCH_DB"
# Articles per unit of work. Each unit pays fixed costs whatever its size (two task runs,
# attaching the store, about fifteen statements, a commit, a checkpoint of 90-160 ms on
# another thread): at 10,000 articles, units of 1,000 instead of 500 took 2-7% off a
# one-worker run and 11% off a two-worker one, for 60-75 MB more at the peak.
DEFAULT_BATCH_ARTICLES = 1000
MAX_SOURCE_FILE_BYTES = 50 * 1024 * 1024
MAX_ARTICLE_CHARS = 2_000_000
SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus" / "articles.jsonl"
DEFAULT_REGISTRY = Path(__file__).parent.parent / "transforms" / "data" / "actors.toml"
DEFAULT_LEXICON = Path(__file__).parent.parent / "transforms" / "data" / "lexicon.toml"
# Ingestion from the network: the shipped config (feeds and outlets) and the fetch defaults
# a config's [fetch] table can change.
DEFAULT_INGEST_CONFIG = Path(__file__).parent / "data" / "tonewatch.toml"
DEFAULT_HTTP_TIMEOUT_SECONDS = 20.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_REQUESTS_PER_HOST = 2
DEFAULT_FETCH_CONCURRENCY = 8
DEFAULT_RETRY_DELAYS_SECONDS = (2, 10, 30)
MAX_FEED_ENTRIES = 500
# A page that could not be used (404, no article text) is not fetched again for this long.
REJECTED_URL_RETRY_DAYS = 7
# Concurrent access: a second pipeline run waits this long for the first (flows/locking.py);
# opening a database another process holds is retried this long (flows/store.py), longer by
# a run's writes than by a reader, so an analyst's export does not fail a scheduled run.
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0
LOCK_TIMEOUT_ENV_VAR = "TONEWATCH_LOCK_TIMEOUT_SECONDS"
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
DEFAULT_WRITE_BUSY_TIMEOUT_SECONDS = 60.0
BUSY_TIMEOUT_ENV_VAR = "TONEWATCH_BUSY_TIMEOUT_SECONDS"


def default_db_path() -> Path:
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH)


@dataclass(frozen=True)
class Settings:
    """One pipeline run's inputs: where to read, where to store, which registry and lexicon."""

    sources: tuple[Path, ...]
    db_path: Path = DEFAULT_DB_PATH
    report_path: Path | None = DEFAULT_REPORT_PATH
    actors_files: tuple[Path, ...] = ()
    lexicon_file: Path | None = None
    batch_articles: int = DEFAULT_BATCH_ARTICLES
    flow_name: str = field(default="run")

    def __post_init__(self) -> None:
        if self.batch_articles < 1:
            raise ValueError(f"batch_articles must be at least 1, got {self.batch_articles!r}")
