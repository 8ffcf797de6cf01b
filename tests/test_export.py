"""`tonewatch export --parquet DIR`: every table as Parquet, the big ones by month, read back in place."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from report_corpus import synthetic_corpus, write_store
from typer.testing import CliRunner

from tonewatch.flows import store
from tonewatch.flows.cli import app
from tonewatch.flows.export import MANIFEST_NAME, export_parquet

runner = CliRunner()


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    return write_store(folder / "tonewatch.duckdb", synthetic_corpus(300, days=200))


def store_counts(db_path: Path) -> dict[str, int]:
    with store.open_store(db_path, read_only=True) as con:
        tables = store.table_names(con)
        return {t: int(con.execute(f"select count(*) from {t}").fetchall()[0][0]) for t in tables}


def test_cli_exports_every_table_with_one_line(stored, tmp_path):
    out = tmp_path / "snapshot"
    result = runner.invoke(app, ["export", "--db", str(stored), "--parquet", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"exported {len(store_counts(stored))} tables (400 articles,")
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == store_counts(stored)
    assert manifest["schema_version"] == store.SCHEMA_VERSION


@pytest.mark.parametrize("table", store.MONTH_PARTITIONED_TABLES)
def test_big_tables_are_partitioned_by_month_and_read_back_whole(stored, tmp_path, table):
    out = export_parquet(stored, tmp_path / "snapshot").out_dir
    months = sorted(p.name for p in (out / table).iterdir())
    assert months and all(len(m) == len("month=2024-01") and m.startswith("month=20") for m in months)
    assert len(months) >= 6
    pattern = str(out / table / "**" / "*.parquet")
    with duckdb.connect() as con:
        from_duckdb = con.execute(
            "select count(*), count(distinct month) from read_parquet(?, hive_partitioning = true)", [pattern]
        ).fetchall()[0]
    from_polars = pl.scan_parquet(pattern, hive_partitioning=True).collect()
    assert from_duckdb == (store_counts(stored)[table], len(months))
    assert from_polars.height == store_counts(stored)[table]
    assert "month" in from_polars.columns


def test_partition_month_is_the_articles_utc_month(stored, tmp_path):
    out = export_parquet(stored, tmp_path / "snapshot").out_dir
    with duckdb.connect() as con:
        mismatched = con.execute(
            """
            select count(*)
            from read_parquet(?, hive_partitioning = true) e
            join read_parquet(?, hive_partitioning = true) a using (article_id)
            where e.month <> a.month or strftime(timezone('UTC', a.published_at), '%Y-%m') <> a.month
            """,
            [str(out / "edges" / "**" / "*.parquet"), str(out / "articles" / "**" / "*.parquet")],
        ).fetchall()[0][0]
    assert mismatched == 0


def test_small_tables_are_single_files_equal_to_the_store(stored, tmp_path):
    out = export_parquet(stored, tmp_path / "snapshot").out_dir
    with store.open_store(stored, read_only=True) as con:
        actors = store.run_query(con, "select * from actors order by actor_id")
    exported = pl.read_parquet(out / "actors.parquet").sort("actor_id")
    assert exported.equals(actors)
    assert pl.read_parquet(out / "runs.parquet").height == 1


def test_export_replaces_an_earlier_export_and_refuses_a_foreign_folder(stored, tmp_path):
    out = tmp_path / "snapshot"
    export_parquet(stored, out)
    (out / "articles" / "month=1999-01").mkdir()  # a leftover the new export must not keep
    export_parquet(stored, out)
    assert not (out / "articles" / "month=1999-01").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot"]  # no staging folder left behind

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["export", "--db", str(stored), "--parquet", str(foreign)])
    assert result.exit_code == 1
    assert "not empty and holds no earlier tonewatch export" in result.output
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_empty_store_exports_empty_partition_folders(tmp_path):
    db_path = tmp_path / "empty.duckdb"
    with store.open_store(db_path):
        pass
    out = export_parquet(db_path, tmp_path / "snapshot").out_dir
    frame = pl.scan_parquet(str(out / "edges" / "**" / "*.parquet"), hive_partitioning=True).collect()
    assert frame.height == 0
    assert "target_bloc" in frame.columns


def test_export_help_has_an_example_and_db_option():
    result = runner.invoke(app, ["export", "-h"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "--db" in result.output and "--parquet" in result.output
