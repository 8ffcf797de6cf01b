"""End to end: the real Prefect flow on the sample corpus into a real DuckDB file."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from tonewatch.flows.settings import SAMPLE_CORPUS

CAPITALS = ("washington", "moscow", "kyiv")


def run_pipeline(sources: list[Path], db_path: Path, report_path: Path | None):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    summary, _ = run_flow_cleanly(
        pipeline_flow,
        expected_task_runs=lambda s: s.task_runs,
        sources=[str(s) for s in sources],
        db_path=str(db_path),
        report_path=str(report_path) if report_path else None,
    )
    return summary


def table_counts(db_path: Path) -> dict[str, int]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {
            table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in ("articles", "sentences", "mentions", "edges", "actors")
        }


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def sample_run(prefect_harness, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    db_path, report_path = folder / "tonewatch.duckdb", folder / "reports" / "tonewatch.html"
    first = run_pipeline([SAMPLE_CORPUS], db_path, report_path)
    counts_after_first = table_counts(db_path)
    second = run_pipeline([SAMPLE_CORPUS], db_path, report_path)
    return first, second, counts_after_first, db_path, report_path


def test_sample_corpus_is_stored(sample_run):
    first, _, counts, db_path, _ = sample_run
    articles_in_corpus = sum(1 for line in SAMPLE_CORPUS.read_text().splitlines() if line.strip())
    assert counts["articles"] == articles_in_corpus == first.counts["articles_new"]
    assert counts["sentences"] == first.counts["sentences_scored"] > counts["articles"] * 3
    assert counts["mentions"] == first.counts["mentions_found"] > 0
    assert counts["edges"] == first.counts["edges_found"] > 0
    assert counts["actors"] > 40
    with duckdb.connect(str(db_path), read_only=True) as con:
        orphans = con.execute(
            "select count(*) from edges e left join sentences s using (article_id, sentence_idx)"
            " where s.article_id is null"
        ).fetchall()[0][0]
        runs = con.execute("select status, articles_new from runs order by started_at").fetchall()
    assert orphans == 0
    assert runs == [("completed", articles_in_corpus), ("completed", 0)]


def test_every_directed_pair_of_capitals_has_edges(sample_run):
    *_, db_path, _ = sample_run
    with duckdb.connect(str(db_path), read_only=True) as con:
        pairs = dict(
            con.execute(
                "select source_bloc || '>' || target_bloc, count(*) from edges group by all"
            ).fetchall()
        )
    for source in CAPITALS:
        for target in CAPITALS:
            if source != target:
                assert pairs.get(f"{source}>{target}", 0) >= 1, f"no edge {source} -> {target}"


def test_rerun_adds_nothing_and_scores_nothing(sample_run):
    first, second, counts_after_first, db_path, _ = sample_run
    assert table_counts(db_path) == counts_after_first
    assert second.counts["articles_new"] == 0
    assert second.counts["articles_unchanged"] == first.counts["articles_new"]
    assert second.counts["sentences_scored"] == 0


def test_report_is_self_contained_html_with_figures(sample_run):
    *_, report_path = sample_run
    html = report_path.read_text(encoding="utf-8")
    collector = _TagCollector()
    collector.feed(html)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.count('class="plotly-graph-div"') >= 3
    assert not [attrs for tag, attrs in collector.tags if tag == "script" and attrs.get("src")]
    assert not [attrs for tag, attrs in collector.tags if tag == "link" and attrs.get("href")]


def test_task_runs_are_all_recorded(sample_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    first, *_ = sample_run
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(limit=10)
        assert flow_runs, "no flow run was recorded"
        names = set()
        for flow_run in flow_runs:
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run.name])), limit=200
            )
            assert all(run.state is not None and run.state.is_completed() for run in task_runs)
            names |= {run.name.rsplit("-", 1)[0] for run in task_runs}
    # One unit of work: analyze it, store it (its rows, copies and files read), report. Other
    # tests' flow runs share the server, so only this run's count is exact.
    assert first.task_runs == 3
    assert {"analyze_unit", "store_unit", "publish_report"} <= names and "find_copies" not in names


def test_seed_article_gives_moscow_edges_toward_washington_and_kyiv(prefect_harness, seed_article, tmp_path):
    db_path = tmp_path / "seed.duckdb"
    run_pipeline([seed_article], db_path, None)
    with duckdb.connect(str(db_path), read_only=True) as con:
        tone = dict(
            con.execute(
                "select target_bloc, avg(score) from edges where source_bloc = 'moscow' group by all"
            ).fetchall()
        )
    assert tone["washington"] > 0
    assert tone["kyiv"] < 0


def test_a_unit_with_stored_and_new_articles_writes_each_row_once(prefect_harness, tmp_path):
    # A unit's rows hold every article it read; those already stored must not be written
    # again next to the new ones (issue 7: skipping the row filter when all are new).
    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()
    first, both = tmp_path / "first", tmp_path / "both"
    first.mkdir()
    both.mkdir()
    (first / "a.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    (both / "ab.jsonl").write_text(lines[0] + "\n" + lines[1] + "\n", encoding="utf-8")
    db_path = tmp_path / "mixed.duckdb"
    run_pipeline([first], db_path, None)
    summary = run_pipeline([both], db_path, None)
    assert summary.counts["articles_unchanged"] == 1 and summary.counts["articles_new"] == 1
    with duckdb.connect(str(db_path), read_only=True) as con:
        repeated = con.execute(
            "select count(*) from (select article_id, sentence_idx from sentences"
            " group by all having count(*) > 1)"
        ).fetchall()[0][0]
    assert repeated == 0
