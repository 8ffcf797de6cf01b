"""Named defaults and the ``Settings`` a run is built from, checked once at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_PATH = Path("tonewatch.duckdb")
DEFAULT_REPORT_PATH = Path("reports") / "latest.html"
DB_ENV_VAR = "TONEWATCH_DB"
DEFAULT_BATCH_ARTICLES = 500
MAX_SOURCE_FILE_BYTES = 50 * 1024 * 1024
MAX_ARTICLE_CHARS = 2_000_000
SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus" / "articles.jsonl"
DEFAULT_REGISTRY = Path(__file__).parent.parent / "transforms" / "data" / "actors.toml"
DEFAULT_LEXICON = Path(__file__).parent.parent / "transforms" / "data" / "lexicon.toml"


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
