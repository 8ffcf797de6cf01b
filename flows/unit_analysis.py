"""A unit's work: read its files (or take articles already fetched), normalize and score them.

No Prefect here: this runs inside the flow's own task, in the scoring pool's worker
processes (which never import Prefect) and on Dask workers alike.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from ..transforms.analyze import BatchRows, ScoringContext, analyze_articles
from ..transforms.dedup import Fingerprint, fingerprints
from ..transforms.language import detect_language
from ..transforms.normalize import canonical_url, normalize_article
from ..transforms.records import Article, RawArticle, Reject
from .config import scoring_context
from .gc_pause import collector_paused
from .ingest_config import IngestConfig
from .sources import PendingPage, finish_article
from .sources.files import read_file
from .store import RowFrames, SourceFileState, row_frames
from .units import SourceFile


@dataclass
class UnitResult:
    """One unit read, normalized and scored: what the flow stores."""

    articles: list[Article] = field(default_factory=list)
    # Frames once analysed (see ``RowFrames``: built here, in the worker).
    rows: BatchRows | RowFrames = field(default_factory=BatchRows)
    rejects: list[Reject] = field(default_factory=list)
    pages: list[tuple[str, PendingPage]] = field(default_factory=list)  # (source location, page)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (canonical url, article_id)
    files: list[SourceFileState] = field(default_factory=list)
    # The articles' MinHash signatures and band keys, in their order: the near-duplicate
    # search's pure part, done here so that a pool's workers share it, not the storing process.
    fingerprints: list[Fingerprint] = field(default_factory=list)
    timings: Counter = field(default_factory=Counter)


def analyze_unit_here(
    files: tuple[SourceFile, ...],
    raw_articles: list[RawArticle],
    config: IngestConfig,
    fetch_pages: bool,
    actors_files: tuple[Path, ...],
    lexicon_file: Path | None,
    fetched_at: datetime,
) -> UnitResult:
    """Read, normalize and score a unit in this process, with the scoring context built
    (once per process) from ``actors_files`` and ``lexicon_file``."""
    context = scoring_context(actors_files, lexicon_file)
    with collector_paused():
        return analyze_unit_with(files, raw_articles, config, fetch_pages, context, fetched_at)


def read_unit_files(
    files: tuple[SourceFile, ...], config: IngestConfig, fetch_pages: bool, scorer_version: str
) -> tuple[list[RawArticle], UnitResult]:
    """The articles of a unit's files, and a result holding the files' rejects, pages to
    fetch and states."""
    raw: list[RawArticle] = []
    result = UnitResult()
    for file in files:
        count = 0
        spec = file.spec
        for item in read_file(
            Path(file.path), field_map=spec.field_map, fetch_pages=fetch_pages and spec.fetch_pages
        ):
            if isinstance(item, Reject):
                result.rejects.append(item)
            elif isinstance(item, PendingPage):
                result.pages.append((spec.location, item))
            else:
                raw.append(finish_article(item, spec, config))
                count += 1
        result.files.append(
            SourceFileState(file.path, file.size_bytes, file.modified_ns, scorer_version, count)
        )
    return raw, result


def analyze_unit_with(
    files: tuple[SourceFile, ...],
    raw_articles: list[RawArticle],
    config: IngestConfig,
    fetch_pages: bool,
    context: ScoringContext,
    fetched_at: datetime,
) -> UnitResult:
    """``analyze_unit_here``'s work with a scoring context at hand, each stage timed."""
    started = time.perf_counter()
    raw, result = read_unit_files(files, config, fetch_pages, context.scorer_version)
    raw.extend(raw_articles)
    read = time.perf_counter()
    result.timings["ingest"] += read - started
    articles: dict[str, Article] = {}
    for item in raw:
        article = normalize_article(item, fetched_at=fetched_at)
        if article.article_id in articles:
            continue
        if item.language is None:
            article = replace(article, language=detect_language(f"{article.title}\n\n{article.text}"))
        articles[article.article_id] = article
        result.aliases += [(url, article.article_id) for url in map(canonical_url, item.link_urls) if url]
    result.articles = list(articles.values())
    result.fingerprints = fingerprints([a.text for a in result.articles])
    last = time.perf_counter()
    result.timings["normalize"] += last - read

    def on_stage(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        if stage != "normalize":
            result.timings[stage] += now - last
        last = now

    rows = analyze_articles(result.articles, context, on_stage=on_stage)
    result.rows = row_frames(rows)
    on_stage("store")  # the rows made ready for the store
    return result
