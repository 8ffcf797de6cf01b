"""Ingest tasks: read each source (files, feeds, pages), fetch feed entries' pages, link copies.

Only the network tasks retry, and only on what may heal (5xx, 429, timeouts, dropped
connections), after ``retry_delays_seconds``; a bug fails at once. A source still failing
after its last attempt becomes a reject, so the run goes on. A feed's validators (ETag,
Last-Modified) are saved only when every page it links to was dealt with, so a page that
failed is tried again on the next run instead of hiding behind "304 Not Modified".
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from ..transforms.dedup import Fingerprint, confirm_copies, fingerprints, likely_rows, signature_values
from ..transforms.normalize import canonical_url
from ..transforms.records import Article, RawArticle, Reject
from . import store
from .fetch import FetchFailed, FetchSettings, Validators, new_client
from .ingest_config import IngestConfig, SourceSpec
from .settings import DEFAULT_RETRY_DELAYS_SECONDS, REJECTED_URL_RETRY_DAYS
from .sources import (
    FetchRecord,
    PagesResult,
    PendingPage,
    SourceResult,
    fetch_pages,
    finish_article,
    read_files,
    read_url,
    source_kind,
)


@dataclass
class Ingested:
    """What reading every source gave, and what to store once the articles are stored."""

    articles: list[RawArticle] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    task_runs: int = 0
    seconds: float = 0.0


def _is_last_attempt() -> bool:
    context = TaskRunContext.get()
    if context is None or context.task_run is None:
        return True  # called directly (``.fn()``): there is no retry to wait for
    return context.task_run.run_count > context.task.retries


def _is_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only failures that may heal; a bug (any other exception) is not retried."""
    failure = state.result(raise_on_failure=False)
    return isinstance(failure, FetchFailed) and failure.is_transient


_NETWORK_TASK = {
    "cache_policy": NO_CACHE,
    "retries": len(DEFAULT_RETRY_DELAYS_SECONDS),
    "retry_delay_seconds": list(DEFAULT_RETRY_DELAYS_SECONDS),
    "retry_condition_fn": _is_transient,
}


@task(cache_policy=NO_CACHE)
def read_source(spec: SourceSpec, fetch_pages: bool = True) -> SourceResult:
    """Read one file or folder (recursively) into raw articles and rejects."""
    return read_files(spec, fetch_pages=fetch_pages)


@task(**_NETWORK_TASK)
def fetch_source(
    spec: SourceSpec, settings: FetchSettings, validators: Validators | None, fetch_pages: bool
) -> SourceResult:
    """Fetch one feed or article page (conditionally when validators are known)."""
    with new_client(settings) as client:
        try:
            return read_url(
                spec, client=client, settings=settings, validators=validators, fetch_pages=fetch_pages
            )
        except FetchFailed as failure:
            if not _is_last_attempt():
                raise
            detail = "; ".join(filter(None, [failure.detail, "gave up after the last retry"]))
            return SourceResult(spec.location, rejects=[Reject(spec.location, failure.reason, detail)])


# Pages an earlier attempt of a page task already fetched, by task run: a retry fetches only
# the pages that failed, not the whole feed's worth again.
_earlier_attempts: dict[str, tuple[PagesResult, list[PendingPage]]] = {}


@task(**_NETWORK_TASK)
def fetch_source_pages(source: str, pages: list[PendingPage], settings: FetchSettings) -> PagesResult:
    """Fetch and extract the article pages of one feed's new entries."""
    context = TaskRunContext.get()
    key = str(context.task_run.id) if context and context.task_run else ""
    done, remaining = _earlier_attempts.pop(key, (PagesResult(), pages))
    with new_client(settings) as client:
        got = fetch_pages(remaining, client=client, settings=settings)
    done.articles.extend(got.articles)
    done.rejects.extend(got.rejects)
    done.fetches.extend(got.fetches)
    if got.failed and not _is_last_attempt():
        _earlier_attempts[key] = (done, [page for page, _ in got.failed])
        first = got.failed[0][1]
        raise FetchFailed(
            source, f"{len(got.failed)} of {len(remaining)} pages failed", str(first), is_transient=True
        )
    for page, failure in got.failed:
        detail = "; ".join(
            filter(None, [failure.detail, f"linked from {page.source}", "tried again next run"])
        )
        done.rejects.append(Reject(page.url, failure.reason, detail))
    done.failed = got.failed
    return done


def source_specs(
    sources: list[str], config: IngestConfig, field_map: tuple[tuple[str, str], ...]
) -> list[SourceSpec]:
    """The command line's sources (with its field mapping), then the config's."""
    specs = [SourceSpec(location=s, field_map=field_map) for s in sources]
    specs += [spec if spec.field_map else replace(spec, field_map=field_map) for spec in config.sources]
    unique: dict[str, SourceSpec] = {}
    for spec in specs:
        unique.setdefault(spec.location, spec)
    return list(unique.values())


def ingest_sources(
    specs: list[SourceSpec], *, db_path: Path, config: IngestConfig, fetch_pages: bool = True
) -> Ingested:
    """Read every source (one task each), then fetch the pages of new feed entries (one task per feed)."""
    started = time.perf_counter()
    settings = config.fetch
    network = {
        "retries": len(settings.retry_delays_seconds),
        "retry_delay_seconds": list(settings.retry_delays_seconds),
    }
    url_specs = [s for s in specs if source_kind(s) == "url"]
    known_validators = {}
    if url_specs:
        with store.open_store(db_path) as con:
            known_validators = store.fetch_validators(con, [s.location for s in url_specs])
    futures = []
    for spec in specs:
        if source_kind(spec) == "url":
            validators = (
                Validators(*known_validators[spec.location]) if spec.location in known_validators else None
            )
            future = fetch_source.with_options(**network).submit(spec, settings, validators, fetch_pages)
        else:
            future = read_source.submit(spec, fetch_pages)
        futures.append((spec, future))
    read = [(spec, future.result()) for spec, future in futures]
    result = fetch_new_pages(read, db_path=db_path, config=config)
    result.task_runs += len(futures)
    result.seconds = time.perf_counter() - started
    return result


def fetch_new_pages(
    read: list[tuple[SourceSpec, SourceResult]], *, db_path: Path, config: IngestConfig
) -> Ingested:
    """Fetch the pages of feed entries not yet stored (one task per feed) and gather everything read."""
    settings = config.fetch
    network = {
        "retries": len(settings.retry_delays_seconds),
        "retry_delay_seconds": list(settings.retry_delays_seconds),
    }
    result = Ingested()
    pending = {canonical_url(p.url) or p.url: (spec, p) for spec, r in read for p in r.pages}
    since = datetime.now(UTC) - timedelta(days=REJECTED_URL_RETRY_DAYS)
    known: set[str] = set()
    if pending:
        with store.open_store(db_path) as con:
            known = store.known_urls(con, list(pending), rejected_since=since)
    result.counts["links_skipped"] = len(known)
    by_source: dict[str, list[PendingPage]] = {}
    for link, (spec, page) in pending.items():
        if link not in known:
            by_source.setdefault(spec.location, []).append(page)
    page_futures = {
        location: fetch_source_pages.with_options(**network).submit(location, pages, settings)
        for location, pages in by_source.items()
    }
    result.task_runs += len(page_futures)
    pages_done = {location: future.result() for location, future in page_futures.items()}

    for spec, source_result in read:
        pages = pages_done.get(spec.location)
        articles = source_result.articles + (pages.articles if pages else [])
        result.articles.extend(finish_article(a, spec, config) for a in articles)
        result.rejects.extend(source_result.rejects + (pages.rejects if pages else []))
        result.counts["sources_not_modified"] += source_result.is_not_modified
        if pages is None or not pages.failed:
            result.fetches.extend(source_result.fetches)
        if pages is not None:
            result.fetches.extend(pages.fetches)
    return result


def _likely_copies(
    con: duckdb.DuckDBPyConnection, bands: dict[str, list[int]], signatures: dict[str, bytes]
) -> list[tuple[str, str]]:
    """The unit's candidate pairs worth confirming (``likely_rows``), batch by batch."""
    unit_ids = list(bands)
    unit_values, unit_known = signature_values([signatures[a] for a in unit_ids])
    likely: list[tuple[str, str]] = []
    for pairs in store.candidate_batches(con, bands):
        picked = np.flatnonzero(
            likely_rows(
                unit_values,
                unit_known,
                pairs.article_rows,
                pairs.other_rows,
                pairs.other_values,
                pairs.other_known,
            )
        )
        likely += zip(
            [unit_ids[row] for row in pairs.article_rows[picked].tolist()],
            pairs.other_ids(picked),
            strict=True,
        )
    return likely


def find_copies(
    con: duckdb.DuckDBPyConnection,
    articles: list[Article],
    found: list[Fingerprint] | None = None,
    stored_before: Collection[str] | None = None,
) -> tuple[int, float]:
    """Compare new and changed articles with every stored one; store the near-duplicate pairs.

    ``found``: the articles' fingerprints, when the unit's worker computed them already.
    ``stored_before``: which of the articles the store held before this unit, when the
    caller knows (only theirs can have bands, signatures and copies to replace).

    Runs on the caller's connection, inside its transaction when it has one (the flow writes a
    unit's articles, copies and files read in one). Identical texts are linked by their content
    hash (``store.link_duplicates``), so only candidates with different texts are confirmed on
    their shingles here.
    """
    started = time.perf_counter()
    if found is None:
        found = fingerprints([a.text for a in articles])
    signatures = {a.article_id: f.signature for a, f in zip(articles, found, strict=True)}
    bands = {a.article_id: f.bands for a, f in zip(articles, found, strict=True)}
    texts = {a.article_id: a.text for a in articles}
    hashes = {a.article_id: a.content_hash for a in articles}
    with store.transaction(con):
        store.replace_bands(con, bands, stored_before=stored_before)
        store.replace_signatures(con, signatures, stored_before=stored_before)
        likely = _likely_copies(con, bands, signatures)
        # Exact copies (most candidates, in syndicated news) are linked by their hash: only
        # the other texts are read and compared.
        hashes.update(store.read_content_hashes(con, sorted({other for _, other in likely} - texts.keys())))
        different = [(a, b) for a, b in likely if hashes.get(a) != hashes.get(b)]
        texts.update(store.read_texts(con, sorted({other for _, other in different} - texts.keys())))
        pairs = confirm_copies(different, texts)
        store.replace_near_duplicates(con, list(bands), pairs, stored_before=stored_before)
    return len(pairs), time.perf_counter() - started
