"""The Prefect pipeline flow: read sources, normalize, score in units, store, report.

Streaming: file sources are split into units of files (about 1,000 articles each); one task
reads, normalizes and scores a unit (in this process, a process pool or a Dask cluster),
and the flow stores each unit as it comes back in one short transaction. Memory holds a
few units, never the corpus. Files unchanged since the store last read them are not read
at all; articles unchanged since they were stored are not written again. Batches are
passed to tasks ``quote``d: Prefect otherwise walks every article and row of a task's
inputs looking for futures (a third of a run's time when measured).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from ..transforms.analyze import SCORED_LANGUAGES
from ..transforms.errors import TonewatchError
from ..transforms.records import RawArticle, Reject
from . import (
    artifacts,
    locking,
    outcome,
    prefect_env,  # noqa: F401  (sets Prefect's environment before it is imported)
    store,
)
from .config import scoring_context
from .ingest import Ingested, fetch_new_pages, find_copies, ingest_sources, source_specs
from .ingest_config import IngestConfig, SourceSpec, load_config, parse_field_map
from .reporting import build_report, report_window_start, stale_report_key
from .scoring_pool import ScoringPool
from .settings import DEFAULT_BATCH_ARTICLES
from .sources import PendingPage, SourceResult, source_kind
from .unit_analysis import UnitResult, analyze_unit_here
from .units import (
    SourceFile,
    Unit,
    default_workers,
    expand_file_sources,
    group_files,
    split_last_units,
    unchanged_files,
)

STAGES = ("ingest", "normalize", "split", "actors", "attribution", "score", "store", "aggregate", "report")


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
    report_kept: bool = False  # the report was built from these very rows already

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
            text += f"; report: {self.report_path}" + (" (unchanged)" if self.report_kept else "")
        return text


# A unit read, normalized and scored as a task run: in this process, or on a Dask worker.
analyze_unit = task(name="analyze_unit", cache_policy=NO_CACHE)(analyze_unit_here)


@task(name="analyze_unit", cache_policy=NO_CACHE)
def analyze_unit_in_pool(
    pool: ScoringPool,
    files: tuple[SourceFile, ...],
    raw_articles: list[RawArticle],
    config: IngestConfig,
    fetch_pages: bool,
    fetched_at: datetime,
) -> UnitResult:
    """``analyze_unit`` in one of the scoring pool's workers: this task run, in the flow's
    process, waits for it."""
    return pool.submit(files, raw_articles, config, fetch_pages, fetched_at).result()


def store_articles(
    con: duckdb.DuckDBPyConnection, result: UnitResult, scorer_version: str
) -> tuple[Counter, frozenset[str]]:
    """Write a unit's new and changed articles with their rows, in the caller's transaction.
    Returns the counts and the ids of the unit's articles the store held before."""
    counts: Counter = Counter()
    stored = store.stored_states(con, [a.article_id for a in result.articles])
    written = []
    for article in result.articles:
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
        counts["articles_not_english"] += article.language not in SCORED_LANGUAGES
        written.append(article)
    if written:
        # Rows of the unit's unchanged articles are left out; when every article is written
        # (a new unit, the usual case) there is nothing to filter.
        only = None if len(written) == len(result.articles) else {a.article_id for a in written}
        kept = store.write_batch(con, written, result.rows, scorer_version=scorer_version, only=only)
        counts.update(kept)
    return counts, frozenset(stored)


class UnitWriter:
    """Where the flow stores units: the store file attached for each unit's transaction, and
    detached (checkpointed, its lock released) on another thread while the flow goes on.

    The checkpoint is a third of the time a unit spends in the store, all of it in DuckDB's
    C++ without the GIL, so in a run that analyses its units itself it takes the other core
    while the next unit is analysed. The unit is committed (in the WAL) before the detach
    starts, so a run killed meanwhile loses nothing. ``wait`` comes before the file is
    attached again, and raises a failed detach.

    Units analysed elsewhere (a pool's workers, a Dask cluster) come back faster than one
    process analyses them, and there the checkpoints' CPU is taken from the workers: with
    ``hold_seconds``, the file stays attached from one unit to the next and is detached after
    the first unit written once it has been attached that long. A reader then waits at most
    about that long, plus one unit's write.
    """

    # Measured on 2 cores, 10,000 articles, two workers: 1.0-1.2 s less CPU a run than a
    # checkpoint a unit; readers still get in every few seconds.
    POOL_HOLD_SECONDS = 2.5

    def __init__(self, db_path: Path, *, hold_seconds: float = 0.0) -> None:
        self._file = store.AttachedStore(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tonewatch-close")
        self._pending: Future[None] | None = None
        self._hold_seconds = hold_seconds
        self._attached_at = 0.0

    @contextmanager
    def unit(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection for one unit's writes; the file is detached afterwards unless it has
        been attached for less than ``hold_seconds``."""
        self.wait()
        if not self._file.attached:
            self._attached_at = time.monotonic()
        with self._file.writing() as con:
            yield con
        if time.monotonic() - self._attached_at >= self._hold_seconds:
            self._pending = self._executor.submit(self._file.detach)

    def wait(self) -> None:
        """Wait until the file is detached, if it is being detached (raising its StoreError)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def detach(self) -> None:
        """Detach the file now (another connection is about to open it)."""
        self.wait()
        self._file.detach()

    def __enter__(self) -> UnitWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A failed detach happened before anything that failed after it: its error wins, as
        # when the store was closed in line.
        try:
            self.detach()
        finally:
            self._executor.shutdown(wait=True)
            self._file.close()


@dataclass
class UnitStored:
    """What storing one unit did, for the flow to add to the run's summary."""

    counts: Counter
    copies_seconds: float
    store_seconds: float


@task(cache_policy=NO_CACHE)
def store_unit(writer: UnitWriter, result: UnitResult, scorer_version: str, run_id: str) -> UnitStored:
    """Store a unit: its articles and rows, their bands and copies, and its files marked read
    with their rejects, in one transaction.

    A run killed before the commit leaves none of them, so the next run reads the files again
    and records their rejects then, once.
    """
    started = time.perf_counter()
    copies_seconds = 0.0
    with writer.unit() as con, store.transaction(con):
        counts, stored_before = store_articles(con, result, scorer_version)
        # Every article of the unit, not only those written: one stored by an older version
        # without its bands and copies reads as unchanged now.
        if result.articles:
            _, copies_seconds = find_copies(con, result.articles, result.fingerprints, stored_before)
        store.record_files_read(con, run_id, result.files, result.rejects)
    # The store stage is the time the flow spent storing the unit (waiting for the file to be
    # detached after the unit before, attaching, writing, committing) but finding copies,
    # counted with normalize; the checkpoint on the writer's thread overlaps the next unit's
    # analysis.
    store_seconds = time.perf_counter() - started - copies_seconds
    return UnitStored(counts, copies_seconds, store_seconds)


@task(cache_policy=NO_CACHE)
def publish_report(
    db_path: Path, report_path: Path, since: datetime | None, key: str
) -> tuple[Path, dict[str, float]]:
    """Aggregate the store and write the self-contained HTML report (from ``since`` on),
    carrying ``key``, the ``report_key`` of the rows it was built from."""
    return build_report(db_path, report_path, since=since, key=key)


def task_runner_for(*, workers: int, dask_address: str | None) -> Any:
    """A Dask cluster at ``dask_address``; for ``workers`` > 1 threads whose task runs wait for
    the scoring pool (one more than its workers, so that a unit is always queued there); else
    None (in process)."""
    if dask_address:
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise TonewatchError(
                f"--dask-address {dask_address}: prefect-dask is not installed"
                " (pip install 'tonewatch[dask]')"
            ) from exc
        return DaskTaskRunner(address=dask_address)
    if workers > 1:
        return ThreadPoolTaskRunner(max_workers=workers + 1)
    return None


def _fetch_pending_pages(
    pending: list[tuple[str, PendingPage]], specs: list[SourceSpec], *, db_path: Path, config: IngestConfig
) -> Ingested:
    """Fetch the pages that saved feed files' entries link to, grouped by their feed."""
    grouped: dict[str, list[PendingPage]] = {}
    for location, page in pending:
        grouped.setdefault(location, []).append(page)
    by_spec = {s.location: s for s in specs}
    read = [(by_spec[location], SourceResult(location, pages=pages)) for location, pages in grouped.items()]
    return fetch_new_pages(read, db_path=db_path, config=config)


@flow(name="tonewatch-pipeline", log_prints=False, validate_parameters=True)
@locking.exclusive_run("db_path")  # one run at a time per database, also for deployment runs
def pipeline_flow(
    sources: list[str],
    db_path: str = "tonewatch.duckdb",
    report_path: str | None = "reports/latest.html",
    actors_files: list[str] | None = None,
    lexicon_file: str | None = None,
    batch_articles: int = DEFAULT_BATCH_ARTICLES,
    flow_label: str = "run",
    config_file: str | None = None,
    fetch_pages: bool = True,
    field_map: list[str] | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    report_since: str | None = None,
) -> RunSummary:
    """Ingest ``sources`` into the DuckDB store at ``db_path`` and refresh the report.

    A source is an http(s) URL (a feed or an article page), a file or a folder; the
    ``config_file`` (tonewatch.toml, or "default") adds its sources, outlets and fetch limits.
    ``workers`` scoring processes (default: one per core when there is more than one unit
    of work), or the Dask cluster at ``dask_address``. The report covers ``report_since`` on:
    a date, or a window of days before the run such as "90d".
    """
    started = time.perf_counter()
    report_start = report_window_start(report_since, now=datetime.now(UTC))
    if batch_articles < 1:
        raise ValueError(f"batch_articles must be at least 1, got {batch_articles!r}")
    db = Path(db_path)
    config = load_config(config_file)
    specs = source_specs(sources, config, parse_field_map(field_map or []))
    actors = tuple(Path(p) for p in actors_files or ())
    lexicon = Path(lexicon_file) if lexicon_file else None
    context = scoring_context(actors, lexicon)
    version = context.scorer_version
    with store.open_store(db) as con:
        store.sync_registry(con, context.registry)
        run_id = store.start_run(con, flow=flow_label, scorer_version=version)
    summary = RunSummary(run_id, db, Path(report_path) if report_path else None)
    fetched_at = datetime.now(UTC)

    # URLs (feeds and pages) are fetched first; their articles become units like files.
    url_specs = [s for s in specs if source_kind(s) == "url"]
    ingested = ingest_sources(url_specs, db_path=db, config=config, fetch_pages=fetch_pages)
    summary.task_runs += ingested.task_runs
    summary.stage_seconds["ingest"] += ingested.seconds
    summary.counts.update(ingested.counts)
    rejects: list[Reject] = list(ingested.rejects)
    unit_rejects: list[Reject] = []  # recorded as each unit's files are marked read
    aliases: list[tuple[str, str]] = []

    files, missing = expand_file_sources([s for s in specs if source_kind(s) != "url"])
    rejects += missing
    with store.open_store(db) as con:
        known_files = store.source_file_states(con, [f.path for f in files])
    files, skipped, skipped_articles = unchanged_files(files, known_files, version)
    summary.counts["files_unchanged"] += skipped
    summary.counts["articles_unchanged"] += skipped_articles
    units: list[Unit] = [(unit, []) for unit in group_files(files, articles=batch_articles)]
    units += [
        ((), ingested.articles[i : i + batch_articles])
        for i in range(0, len(ingested.articles), batch_articles)
    ]

    worker_count = workers if workers is not None else (default_workers() if len(units) > 1 else 1)
    runner = task_runner_for(workers=worker_count, dask_address=dask_address)
    if runner is not None:
        units = split_last_units(units, worker_count, articles=batch_articles)
    pending_pages: list[tuple[str, PendingPage]] = []

    # The scoring configuration, which a pool's workers are given once, as they start.
    scoring_files = {"actors_files": actors, "lexicon_file": lexicon}

    def parameters(unit: Unit) -> dict[str, Any]:
        """A unit's own parameters: all of ``analyze_unit``'s but ``scoring_files``."""
        return {
            "files": unit[0],
            # prefect-dask walks the parameters itself and turns a quote into a plain tuple.
            "raw_articles": unit[1] if dask_address else quote(unit[1]),
            "config": config,
            "fetch_pages": fetch_pages,
            "fetched_at": fetched_at,
        }

    def store_result(result: UnitResult, writer: UnitWriter) -> None:
        summary.task_runs += 1
        stored = store_unit(writer, quote(result), version, run_id)
        summary.stage_seconds.update(result.timings)
        summary.stage_seconds["normalize"] += stored.copies_seconds
        summary.stage_seconds["store"] += stored.store_seconds
        summary.counts.update(stored.counts)
        aliases.extend(result.aliases)
        pending_pages.extend(result.pages)
        unit_rejects.extend(result.rejects)

    pool = ScoringPool(worker_count, actors, lexicon) if runner is not None and not dask_address else None

    def submit(unit: Unit) -> Any:
        if pool is None:
            return runner.submit(analyze_unit, parameters={**parameters(unit), **scoring_files})
        return runner.submit(analyze_unit_in_pool, parameters={"pool": quote(pool), **parameters(unit)})

    def analyze_here(unit: Unit) -> UnitResult:
        summary.task_runs += 1
        return analyze_unit(**parameters(unit), **scoring_files)

    waiting = deque(units)
    hold_seconds = UnitWriter.POOL_HOLD_SECONDS if runner is not None else 0.0
    with UnitWriter(db, hold_seconds=hold_seconds) as writer:
        with pool if pool is not None else nullcontext(), runner if runner is not None else nullcontext():
            if runner is None:
                while waiting:
                    store_result(analyze_here(waiting.popleft()), writer)
            else:
                # A pool's first units come back 1 to 3 s into a run (the fork server imports
                # the analysis, then each worker scores a whole unit), in which this process
                # would only wait: it analyses the first unit itself meanwhile, and still
                # stores units in order.
                first_here = waiting.popleft() if pool is not None and waiting else None
                in_flight: deque = deque()

                def keep_workers_busy() -> None:
                    # One unit more than workers: each worker always has the next one queued.
                    while waiting and len(in_flight) <= worker_count:
                        summary.task_runs += 1
                        in_flight.append(submit(waiting.popleft()))

                keep_workers_busy()
                if first_here is not None:
                    store_result(analyze_here(first_here), writer)
                while in_flight:
                    result = in_flight.popleft().result()
                    # Queue the next unit before storing this one: a worker that finishes
                    # while the unit is stored then finds one waiting instead of idling.
                    keep_workers_busy()
                    store_result(result, writer)
        writer.detach()  # fetching pages opens the store

        if pending_pages:
            # Saved feed files whose entries carry only a summary: their pages are fetched now.
            fetched = _fetch_pending_pages(pending_pages, specs, db_path=db, config=config)
            summary.task_runs += fetched.task_runs
            summary.counts.update(fetched.counts)
            rejects.extend(fetched.rejects)
            ingested.fetches.extend(fetched.fetches)
            store_result(analyze_here(((), fetched.articles)), writer)

    summary.counts["rejects"] = len(rejects) + len(unit_rejects)
    summary.reject_reasons.update(r.reason for r in [*rejects, *unit_rejects])
    with store.open_store(db) as con:
        store.record_rejects(con, run_id, rejects)
        # Only now that the articles are stored: a crash before this refetches, never loses.
        store.record_article_urls(con, aliases)
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
        checking = time.perf_counter()
        key = stale_report_key(db, summary.report_path, since=report_start)
        summary.stage_seconds["aggregate"] += time.perf_counter() - checking
        # A report built from these very rows is kept without a task run: a run that finds
        # nothing new then has no task run to wait for Prefect to record (issue 7's re-run).
        summary.report_kept = key is None
        if key is not None:
            summary.task_runs += 1
            summary.report_path, timings = publish_report(db, summary.report_path, report_start, key)
            summary.stage_seconds.update(timings)

    summary.seconds = time.perf_counter() - started
    with store.open_store(db) as con:
        store.finish_run(con, run_id, status="completed", counts=summary.counts, seconds=summary.seconds)
    artifacts.publish_run(summary)  # the runs row's figures, the summary and report link in the UI
    outcome.fail_if_every_source_failed(db, run_id, [s.location for s in specs], summary.counts)
    return summary
