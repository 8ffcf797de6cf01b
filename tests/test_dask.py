"""Scoring on a Dask cluster gives the same store as scoring in process.

A real ``dask.distributed.LocalCluster`` of two worker processes, bound to 127.0.0.1 with no
dashboard: nothing but loopback is contacted. The sample corpus is split into several files
so that its units really spread over both workers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from tonewatch.flows.cli import app
from tonewatch.flows.settings import SAMPLE_CORPUS

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

# Key columns to sort by; columns that record when, not what, are left out.
TABLES = {
    "articles": ("article_id",),
    "sentences": ("article_id", "sentence_idx"),
    "mentions": ("article_id", "sentence_idx", "mention_idx"),
    "edges": ("article_id", "sentence_idx", "target_actor"),
}
WHEN_COLUMNS = ("ingested_at", "updated_at")
runner = CliRunner()


def flat(output: str) -> str:
    """CLI output without rich's box drawing and line wrapping."""
    return " ".join(output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def split_corpus(folder: Path, *, files: int) -> Path:
    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    folder.mkdir()
    for index in range(files):
        (folder / f"part-{index}.jsonl").write_text("".join(lines[index::files]), encoding="utf-8")
    return folder


def read_tables(db_path: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = {table: con.sql(f"select * from {table}").pl() for table in TABLES}
    return {
        table: frame.drop([c for c in WHEN_COLUMNS if c in frame.columns]).sort(list(TABLES[table]))
        for table, frame in frames.items()
    }


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


def test_dask_run_stores_exactly_what_a_local_run_stores(prefect_harness, cluster, tmp_path):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    corpus = split_corpus(tmp_path / "corpus", files=6)
    summaries = {}
    for name, options in {
        "local": {"workers": 1},
        "dask": {"dask_address": cluster.scheduler_address},
    }.items():
        summaries[name], _ = run_flow_cleanly(
            pipeline_flow,
            expected_task_runs=lambda s: s.task_runs,
            sources=[str(corpus)],
            db_path=str(tmp_path / f"{name}.duckdb"),
            report_path=None,
            batch_articles=5,  # units of ~15 kB: several per worker
            **options,
        )
    local, dask = read_tables(tmp_path / "local.duckdb"), read_tables(tmp_path / "dask.duckdb")
    for table in TABLES:
        assert local[table].height > 0, table
        assert_frame_equal(dask[table], local[table], check_exact=True)
    assert summaries["dask"].counts == summaries["local"].counts
    assert summaries["local"].counts["articles_new"] == 82
    with distributed.Client(cluster) as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(count > 0 for count in executed.values()), executed


def test_unreachable_scheduler_is_one_line_before_prefect_starts(tmp_path):
    result = runner.invoke(
        app, ["demo", "--db", str(tmp_path / "t.duckdb"), "--dask-address", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: --dask-address tcp://127.0.0.1:9: no Dask scheduler answered (")
    assert not (tmp_path / "t.duckdb").exists()


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://127.0.0.1:8786", "tcp://127.0.0.1"])
def test_malformed_address_is_a_usage_error(address):
    result = runner.invoke(app, ["run", str(SAMPLE_CORPUS), "--dask-address", address])
    assert result.exit_code == 2
    assert f"expected a scheduler address like tcp://10.0.0.5:8786, got {address!r}" in flat(result.output)


def test_serve_checks_the_scheduler_before_serving(cluster, tmp_path, monkeypatch):
    served = []
    monkeypatch.setattr("tonewatch.flows.serve.serve_pipeline", lambda *a, **k: served.append(k))
    monkeypatch.setattr("tonewatch.flows.serve.scheduling_server_url", lambda: "http://127.0.0.1:1/api")
    base = ["serve", str(SAMPLE_CORPUS), "--interval", "60", "--db", str(tmp_path / "t.duckdb")]
    refused = runner.invoke(app, [*base, "--dask-address", "tcp://127.0.0.1:9"])
    accepted = runner.invoke(app, [*base, "--dask-address", cluster.scheduler_address])
    assert refused.exit_code == 1 and "no Dask scheduler answered" in refused.output
    assert accepted.exit_code == 0, accepted.output
    assert len(served) == 1
