"""A run that finds nothing new keeps the report; any change to what it reads rebuilds it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from test_pipeline import run_pipeline

from tonewatch.flows.reporting import ReportOptions, build_report, built_key, report_key
from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.flows.store import open_store


def dated_copies(report: Path) -> list[Path]:
    return sorted(report.parent.glob("tonewatch-*Z.html"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SAMPLE_CORPUS, folder / "articles.jsonl")
    return folder


def test_an_unchanged_rerun_keeps_the_report_and_writes_no_dated_copy(
    prefect_harness: None, corpus: Path, db_path: Path, tmp_path: Path
) -> None:
    report = tmp_path / "reports" / "latest.html"
    first = run_pipeline([corpus], db_path, report)
    built = report.read_bytes()
    copies = dated_copies(report)
    assert not first.report_kept and not first.line().endswith("(unchanged)")
    assert built_key(report) is not None and len(copies) == 1

    second = run_pipeline([corpus], db_path, report)
    assert second.report_kept
    assert second.line().endswith(f"report: {report} (unchanged)")
    assert report.read_bytes() == built
    assert dated_copies(report) == copies
    # Nothing was analysed and the report was kept in the flow itself: no task run, so the
    # run does not wait for Prefect's recorder (about half a second a re-run).
    assert first.task_runs >= 2 and second.task_runs == 0


def test_a_new_article_rebuilds_the_report_with_it(
    prefect_harness: None, corpus: Path, db_path: Path, tmp_path: Path
) -> None:
    report = tmp_path / "latest.html"
    run_pipeline([corpus], db_path, report)
    before = built_key(report)
    article = {
        "url": "https://example.test/sample/refresh-check",
        "outlet": "Refresh Check Wire",
        "published_at": "2024-06-01T09:00:00Z",
        "title": "Refreshcheckword talks",
        "text": "The Kremlin said Washington had been reckless, and Kyiv welcomed the remarks.",
    }
    (corpus / "new.jsonl").write_text(json.dumps(article) + "\n", encoding="utf-8")
    summary = run_pipeline([corpus], db_path, report)
    assert not summary.report_kept
    assert built_key(report) not in (None, before)
    assert "Refresh Check Wire" in report.read_text(encoding="utf-8")


def test_a_change_made_outside_a_run_rebuilds_the_report(
    prefect_harness: None, corpus: Path, db_path: Path, tmp_path: Path
) -> None:
    report = tmp_path / "latest.html"
    run_pipeline([corpus], db_path, report)
    with duckdb.connect(str(db_path)) as con:
        # An analyst's correction by hand: one edge's score.
        con.execute(
            "update edges set score = -score where rowid = (select min(rowid) from edges where score <> 0)"
        )
    assert not run_pipeline([corpus], db_path, report).report_kept


def test_a_report_built_with_other_options_or_by_other_means_is_rebuilt(
    prefect_harness: None, corpus: Path, db_path: Path, tmp_path: Path
) -> None:
    report = tmp_path / "latest.html"
    run_pipeline([corpus], db_path, None)
    # `tonewatch report --count-duplicates` wrote the file: a run's default report differs.
    build_report(db_path, report, count_duplicates=True, dated=False)
    with open_store(db_path, read_only=True) as con:
        assert built_key(report) == report_key(con, ReportOptions(count_duplicates=True))
        assert built_key(report) != report_key(con, ReportOptions())
    assert not run_pipeline([corpus], db_path, report).report_kept
    # A file the user put there (no key at all) is replaced as before.
    report.write_text("<html><body>notes</body></html>", encoding="utf-8")
    assert built_key(report) is None
    assert not run_pipeline([corpus], db_path, report).report_kept
    assert built_key(report) is not None
