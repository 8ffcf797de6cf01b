"""Build the report: read the store, aggregate with Polars, hand frames to the dashboard."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ..dashboards.report import BlocStyle, ReportData, write_report
from ..transforms.aggregate import dyad_totals, strongest_evidence, tone_series
from . import store

EVIDENCE_ROWS = 300


def build_report(
    db_path: Path,
    out_path: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    granularity: str = "week",
    count_duplicates: bool = False,
) -> tuple[Path, dict[str, float]]:
    """Write the HTML report for the store at ``db_path``; returns its path and stage timings."""
    started = time.perf_counter()
    with store.open_store(db_path, read_only=True) as con:
        edges = store.read_edges(con, since=since, until=until, count_duplicates=count_duplicates)
        stats = store.read_corpus_stats(con, since=since, until=until, count_duplicates=count_duplicates)
        blocs = tuple(BlocStyle(*row) for row in store.read_blocs(con))
    lazy = edges.lazy()
    bloc_series = tone_series(lazy, by=["target_bloc"], granularity=granularity)
    dyad_series = tone_series(lazy, by=["source_bloc", "target_bloc"], granularity=granularity)
    totals = dyad_totals(lazy)
    evidence = strongest_evidence(
        lazy.select(
            "published_at",
            "outlet",
            "title",
            "url",
            "sentence",
            "speaker",
            "source_bloc",
            "target",
            "target_bloc",
            "score",
        ),
        limit=EVIDENCE_ROWS,
    )
    aggregated = time.perf_counter()
    data = ReportData(
        title="tonewatch: tone between Washington, Moscow and Kyiv",
        generated_at=datetime.now(UTC),
        scorer_version=str(stats["scorer_version"]),
        period_start=stats["period_start"],  # type: ignore[arg-type]
        period_end=stats["period_end"],  # type: ignore[arg-type]
        articles=int(stats["articles"]),  # type: ignore[call-overload]
        outlets=int(stats["outlets"]),  # type: ignore[call-overload]
        sentences=int(stats["sentences"]),  # type: ignore[call-overload]
        edges=edges.height,
        blocs=blocs,
        bloc_series=bloc_series,
        dyad_series=dyad_series,
        dyad_totals=totals,
        evidence=evidence.with_columns(pl.col("published_at").dt.convert_time_zone("UTC")),
    )
    path = write_report(data, out_path)
    finished = time.perf_counter()
    return path, {"aggregate": aggregated - started, "report": finished - aggregated}
