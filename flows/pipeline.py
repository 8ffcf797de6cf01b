"""The Prefect pipeline flow: read sources, normalize, score in batches, store, report.

Tasks are coarse (one per source, one per batch of articles); the flow body reads like
the design's diagram. Batches are passed ``quote``d: Prefect otherwise walks every
article and row of a task's inputs looking for futures (a third of a run's time). Re-runs are idempotent through the store (id and content hash),
not through Prefect's cache, so every task opts out of input hashing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from ..transforms.analyze import SCORED_LANGUAGES, BatchRows, analyze_articles
from ..transforms.language import detect_language
from ..transforms.normalize import canonical_url, normalize_article
from ..transforms.records import Article, RawArticle, Reject
from . import (
    prefect_env,  # noqa: F401  (sets Prefect's environment before it is imported)
    store,
)
from .config import scoring_context
from .ingest import find_copies, ingest_sources, source_specs
from .ingest_config import load_config, parse_field_map
from .reporting import build_report

STAGES = (
    "ingest",
    "normalize",
    "split",
    "actors",
    "attribution",
    "score",
    "store",
    "aggregate",
    "report",
)


@dataclass
class RunSummary:
    """What one pipeline run did; printed as one line and stored in ``runs``."""

    run_id: str
    db_path: Path
    report_path: Path | None
    counts: Counter = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)
    reject_reasons: Counter = field(default_factory=Counter)
    stage_seconds: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    task_runs: int = 0

    def line(self) -> str:
        c, t = self.counts, self.totals
        text = (
            f"{t.get('articles', 0)} articles ({c['articles_new']} new, {c['articles_changed']} changed,"
            f" {c['articles_rescored']} re-scored, {c['articles_unchanged']} unchanged,"
            f" {c['articles_not_english']} not in English),"
            f" {t.get('sentences', 0)} sentences, {t.get('mentions', 0)} mentions,"
            f" {t.get('edges', 0)} edges, {c['rejects']} rejected"
        )
        if self.reject_reasons:
            text += " (" + ", ".join(f"{n} {r}" for r, n in self.reject_reasons.most_common()) + ")"
        if c["sources_not_modified"]:
            text += f", {c['sources_not_modified']} sources not modified"
        if c["links_skipped"]:
            text += f", {c['links_skipped']} known links skipped"
        text += f" in {self.seconds:.1f} s"
        if self.report_path is not None:
            text += f"; report: {self.report_path}"
        return text


@dataclass
class Plan:
    to_score: list[Article]
    counts: Counter
    rejects: list[Reject]
    # Other addresses of the articles seen (feed links, redirects): (canonical url, article_id).
    aliases: list[tuple[str, str]] = field(default_factory=list)


@task(cache_policy=NO_CACHE)
def plan_articles(raw_articles: list[RawArticle], db_path: Path, scorer_version: str) -> tuple[Plan, float]:
    """Normalize, drop repeats within the input, and keep only what the store lacks."""
    started = time.perf_counter()
    fetched_at = datetime.now(UTC)
    articles: dict[str, Article] = {}
    undeclared: set[str] = set()
    aliases: list[tuple[str, str]] = []
    for raw in raw_articles:
        article = normalize_article(raw, fetched_at=fetched_at)
        if article.article_id not in articles and raw.language is None:
            undeclared.add(article.article_id)
        articles.setdefault(article.article_id, article)
        aliases += [(url, article.article_id) for url in map(canonical_url, raw.link_urls) if url]
    with store.open_store(db_path) as con:
        stored = store.stored_states(con, list(articles))
    counts: Counter = Counter(articles_seen=len(articles))
    to_score = []
    for article in articles.values():
        known = stored.get(article.article_id)
        if known is None:
            counts["articles_new"] += 1
        elif known.content_hash != article.content_hash:
            counts["articles_changed"] += 1
        elif known.scorer_version != scorer_version:
            counts["articles_rescored"] += 1
        else:
            counts["articles_unchanged"] += 1
            continue
        if article.article_id in undeclared:
            # Only what will be stored is detected: an unchanged article keeps its language.
            article = replace(article, language=detect_language(f"{article.title}\n\n{article.text}"))
        counts["articles_not_english"] += article.language not in SCORED_LANGUAGES
        to_score.append(article)
    return Plan(to_score, counts, [], aliases), time.perf_counter() - started


@task(cache_policy=NO_CACHE)
def score_batch(
    articles: list[Article], actors_files: tuple[Path, ...], lexicon_file: Path | None
) -> tuple[BatchRows, dict[str, float]]:
    """Split, match actors, attribute and score one batch of articles (pure work)."""
    context = scoring_context(actors_files, lexicon_file)
    timings: dict[str, float] = {}
    last = time.perf_counter()

    def on_stage(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - last
        last = now

    rows = analyze_articles(articles, context, on_stage=on_stage)
    return rows, timings


@task(cache_policy=NO_CACHE)
def store_batch(db_path: Path, articles: list[Article], rows: BatchRows, scorer_version: str) -> float:
    """Write one batch in one transaction: nothing half-written survives a crash."""
    started = time.perf_counter()
    with store.open_store(db_path) as con:
        store.write_batch(con, articles, rows, scorer_version=scorer_version)
    return time.perf_counter() - started


@task(cache_policy=NO_CACHE)
def publish_report(db_path: Path, report_path: Path) -> tuple[Path, dict[str, float]]:
    """Aggregate the store and write the self-contained HTML report."""
    return build_report(db_path, report_path)


@flow(name="tonewatch-pipeline", log_prints=False, validate_parameters=True)
def pipeline_flow(
    sources: list[str],
    db_path: str = "tonewatch.duckdb",
    report_path: str | None = "reports/latest.html",
    actors_files: list[str] | None = None,
    lexicon_file: str | None = None,
    batch_articles: int = 500,
    flow_label: str = "run",
    config_file: str | None = None,
    fetch_pages: bool = True,
    field_map: list[str] | None = None,
) -> RunSummary:
    """Ingest ``sources`` into the DuckDB store at ``db_path`` and refresh the report.

    A source is an http(s) URL (a feed or an article page), a file or a folder; the
    ``config_file`` (tonewatch.toml, or "default") adds its sources, outlets and fetch limits.
    """
    started = time.perf_counter()
    db = Path(db_path)
    config = load_config(config_file)
    specs = source_specs(sources, config, parse_field_map(field_map or []))
    actors = tuple(Path(p) for p in actors_files or ())
    lexicon = Path(lexicon_file) if lexicon_file else None
    context = scoring_context(actors, lexicon)
    with store.open_store(db) as con:
        store.sync_registry(con, context.registry)
        run_id = store.start_run(con, flow=flow_label, scorer_version=context.scorer_version)
    summary = RunSummary(run_id, db, Path(report_path) if report_path else None)

    ingested = ingest_sources(specs, db_path=db, config=config, fetch_pages=fetch_pages)
    summary.task_runs += ingested.task_runs
    summary.stage_seconds["ingest"] += ingested.seconds
    summary.counts.update(ingested.counts)
    rejects: list[Reject] = ingested.rejects

    summary.task_runs += 1
    plan, seconds = plan_articles(quote(ingested.articles), db, context.scorer_version)
    summary.stage_seconds["normalize"] += seconds
    summary.counts.update(plan.counts)

    for begin in range(0, len(plan.to_score), batch_articles):
        batch = plan.to_score[begin : begin + batch_articles]
        summary.task_runs += 2
        rows, timings = score_batch(quote(batch), actors, lexicon)
        summary.stage_seconds.update(timings)
        summary.counts["sentences_scored"] += len(rows.sentences["article_id"])
        summary.counts["mentions_found"] += len(rows.mentions["article_id"])
        summary.counts["edges_found"] += len(rows.edges["article_id"])
        summary.stage_seconds["store"] += store_batch(db, quote(batch), quote(rows), context.scorer_version)

    if plan.to_score:
        summary.task_runs += 1
        _, seconds = find_copies(db, quote(plan.to_score))
        summary.stage_seconds["normalize"] += seconds

    summary.counts["rejects"] = len(rejects)
    summary.reject_reasons.update(r.reason for r in rejects)
    with store.open_store(db) as con:
        store.record_rejects(con, run_id, rejects)
        # Only now that the articles are stored: a crash before this refetches, never loses.
        store.record_article_urls(con, plan.aliases)
        store.record_fetches(
            con,
            [
                (f.url, f.validators.etag, f.validators.last_modified, f.status, f.outcome)
                for f in ingested.fetches
            ],
        )
        store.link_duplicates(con)
        summary.totals = store.table_counts(con)

    if summary.report_path is not None:
        summary.task_runs += 1
        summary.report_path, timings = publish_report(db, summary.report_path)
        summary.stage_seconds.update(timings)

    summary.seconds = time.perf_counter() - started
    with store.open_store(db) as con:
        store.finish_run(con, run_id, status="completed", counts=summary.counts, seconds=summary.seconds)
    return summary
