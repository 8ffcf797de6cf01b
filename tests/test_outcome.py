"""A run whose every source failed ends Failed, naming them; one working source keeps it healthy."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from ingest_server import LoopbackServer, status

from tonewatch.flows.outcome import failed_sources, failure_message
from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.errors import SourceError


@pytest.mark.parametrize(
    ("locations", "rejects", "expected"),
    [
        (
            ["https://a.example/feed"],
            [("https://a.example/feed", "HTTP 404")],
            {"https://a.example/feed": "HTTP 404"},
        ),
        (["https://a.example/feed", "b.jsonl"], [("https://a.example/feed", "timeout")], None),
        (
            ["news"],
            [("news/2025/a.json", "not valid JSON"), ("news/2025/b.json", "empty")],
            {"news": "not valid JSON"},
        ),
        # A page linked from the feed failed, not the feed: the feed itself was read.
        (["https://a.example/feed"], [("https://a.example/story", "HTTP 404")], None),
        ([], [("x", "y")], None),
    ],
    ids=["one-feed", "one-of-two", "folder-of-bad-files", "a-page-not-the-feed", "no-sources"],
)
def test_failed_sources(locations, rejects, expected):
    assert failed_sources(locations, rejects) == expected


def test_failure_message_names_the_first_sources():
    failed = {f"s{i}.json": "not valid JSON" for i in range(7)}
    assert failure_message(failed) == (
        "every source failed, nothing was read: s0.json (not valid JSON); s1.json (not valid JSON);"
        " s2.json (not valid JSON); s3.json (not valid JSON); s4.json (not valid JSON);"
        " and 2 more (see the rejects table)"
    )


@pytest.fixture
def server():
    loopback = LoopbackServer({"/gone.xml": status(404)})  # a 404 is a reject at once, not retried
    yield loopback
    loopback.close()


def run(sources: list[str], db_path: Path):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    return run_flow_cleanly(
        pipeline_flow,
        expected_task_runs=lambda s: s.task_runs,
        sources=sources,
        db_path=str(db_path),
        report_path=None,
    )


def test_every_source_failing_fails_the_flow_run(prefect_harness, server, tmp_path):
    from prefect.client.orchestration import get_client

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    db_path = tmp_path / "tonewatch.duckdb"
    with pytest.raises(SourceError) as raised:
        run([server.url("/gone.xml"), str(broken)], db_path)
    assert str(raised.value) == (
        "every source failed, nothing was read:"
        f" {server.url('/gone.xml')} (HTTP 404); {broken} (not valid JSON)"
    )
    with duckdb.connect(str(db_path), read_only=True) as con:
        status_, rejects, flow_run_id = con.execute(
            "select status, rejects, prefect_flow_run_id from runs"
        ).fetchall()[0]
    assert (status_, rejects) == ("failed", 2)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    assert state.is_failed()
    assert "every source failed" in state.message


def test_one_working_source_keeps_the_run_completed(prefect_harness, server, tmp_path):
    summary, _ = run([server.url("/gone.xml"), str(SAMPLE_CORPUS)], tmp_path / "tonewatch.duckdb")
    assert summary.counts["rejects"] == 1 and summary.counts["articles_new"] == 82


def test_cli_prints_one_line_and_exits_1(prefect_harness, server, tmp_path):
    from prefect.settings import PREFECT_API_URL

    result = subprocess.run(
        [sys.executable, "-m", "tonewatch.flows", "ingest", server.url("/gone.xml"), "--db", "t.duckdb"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        result.stderr
        == f"error: every source failed, nothing was read: {server.url('/gone.xml')} (HTTP 404)\n"
    )


def test_counts_of_anything_read_mean_success():
    from tonewatch.flows.outcome import fail_if_every_source_failed

    # Nothing is even read from the store when something was read.
    fail_if_every_source_failed(Path("/nonexistent/db.duckdb"), "r", ["a"], Counter(sources_not_modified=1))
