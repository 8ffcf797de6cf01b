"""The report DuckDB computes in the store (``store.ReportReader``, what ``build_report`` uses) is
the report Polars computes from every row in memory (``assemble_report``): same figures, same
evidence, same shifts, for every selection a report can make (issue 7)."""

from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from report_corpus import golden_corpus, synthetic_corpus, write_store

from tonewatch.dashboards.report import BlocStyle, ReportData
from tonewatch.flows import store
from tonewatch.flows.reporting import ReportOptions, assemble_report, report_from, tone_selection

GENERATED_AT = datetime(2025, 3, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report-store")
    corpus = synthetic_corpus(3000)
    # Syndicated copies in another outlet (counted once), and sentences naming a target twice.
    copies = [
        replace(s, outlet="Sample Brussels Review", url=None, copy_of=i)
        for i, s in enumerate(corpus)
        if i % 40 == 0
    ]
    return {
        "synthetic": write_store(folder / "synthetic.duckdb", corpus + copies, repeat_every=7),
        "golden": write_store(folder / "golden.duckdb", golden_corpus(), repeat_every=3),
    }


def _both(db_path: Path, options: ReportOptions) -> tuple[ReportData, ReportData]:
    with store.open_store(db_path, read_only=True) as con:
        blocs = tuple(BlocStyle(*row) for row in store.read_blocs(con))
        stats = store.read_corpus_stats(
            con, since=options.since, until=options.until, count_duplicates=options.count_duplicates
        )
        edges = store.read_edges(con, since=options.since, until=options.until, count_duplicates=True)
        tones = store.read_target_tones(con, since=options.since, until=options.until)
        common = {"stats": stats, "blocs": blocs, "options": options, "generated_at": GENERATED_AT}
        in_store = report_from(store.ReportReader(con, tone_selection(options)), **common)
    return assemble_report(edges, tones, **common), in_store


@pytest.mark.parametrize("corpus", ["synthetic", "golden"])
@pytest.mark.parametrize(
    "options",
    [
        ReportOptions(),
        ReportOptions(count_duplicates=True),
        ReportOptions(blocs=("moscow", "washington")),
        ReportOptions(actors=("putin", "zelensky")),
        ReportOptions(since=datetime(2024, 3, 1, tzinfo=UTC), until=datetime(2024, 9, 1, tzinfo=UTC)),
        ReportOptions(since=datetime(2025, 2, 1, tzinfo=UTC)),
        ReportOptions(granularity="day"),
        ReportOptions(granularity="month"),
        ReportOptions(since=datetime(2030, 1, 1, tzinfo=UTC)),  # nothing in the period
    ],
    ids=["all", "copies", "blocs", "actors", "period", "since", "day", "month", "empty"],
)
def test_report_from_the_store_is_the_report_from_every_row(stores, corpus, options):
    in_memory, in_store = _both(stores[corpus], options)
    for field in fields(ReportData):
        expected, got = getattr(in_memory, field.name), getattr(in_store, field.name)
        if isinstance(expected, pl.DataFrame):
            # Sums in another order: the last bits of a mean may differ, nothing else.
            assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
        else:
            assert got == expected, field.name


def test_the_corpus_has_what_the_store_route_must_get_right(stores):
    with store.open_store(stores["synthetic"], read_only=True) as con:
        edges = store.read_edges(con, count_duplicates=True)
        tones = store.read_target_tones(con)
    assert edges["dup_of"].is_not_null().sum() > 0
    assert tones.select("article_id", "sentence_idx", "target_actor").is_duplicated().sum() > 0
    data, _ = _both(stores["synthetic"], ReportOptions())
    assert data.shifts.height > 0 and data.shift_evidence.height > 0
    assert set(data.evidence["kind"]) == {"statement", "sentence"}
