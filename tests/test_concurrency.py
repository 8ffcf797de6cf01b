"""One writer at a time, readers served between its short transactions, clear one-line refusals.

Measured with duckdb 2.0 (see README, "Runs, readers and the busy message"): while one process
has the file open read-write, every other process is refused at once, read-only or not; while
processes hold it read-only, other readers get in and a writer is refused. tonewatch retries
the open for a bounded time, and a pipeline run holds a lock file for its whole length.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tonewatch.flows import locking, store
from tonewatch.flows.cli import app
from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.errors import StoreError

runner = CliRunner()

HOLD_DATABASE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("begin transaction")
con.execute("insert into runs (run_id, flow, started_at, status) values ('holder', 'test', now(), 'running')")
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("commit")
con.close()
"""

HOLD_RUN_LOCK = """
import sys, time
from pathlib import Path
from tonewatch.flows.locking import run_lock
with run_lock(Path(sys.argv[1]), timeout_seconds=0):
    print("ready", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def holding(script: str, db_path: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process that holds the database (or the run lock) for ``seconds``."""
    with subprocess.Popen(
        [sys.executable, "-c", script, str(db_path), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def tonewatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tonewatch.flows", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    db_path = tmp_path / "tonewatch.duckdb"
    with store.open_store(db_path) as con:
        store.start_run(con, flow="seed", scorer_version="sv")
    return db_path


def test_duckdb_refuses_every_other_process_while_one_writes(store_path):
    """The measurement the retry loop is built on; if DuckDB changes, this test says so."""
    with holding(HOLD_DATABASE, store_path, 30):
        for read_only in (True, False):
            with pytest.raises(duckdb.IOException, match="lock"):
                duckdb.connect(str(store_path), read_only=read_only)


def test_query_during_a_short_write_waits_and_gets_rows(store_path):
    started = time.monotonic()
    with holding(HOLD_DATABASE, store_path, 1.5) as holder:
        result = runner.invoke(app, ["query", "select count(*) as n from runs", "--db", str(store_path)])
        waited = time.monotonic() - started
        holder.wait(timeout=30)
    assert result.exit_code == 0, result.output
    assert "2" in result.output  # the seed run and the holder's, committed before the reader got in
    assert waited >= 1.0


def test_query_during_a_long_write_prints_the_busy_message(store_path):
    with holding(HOLD_DATABASE, store_path, 60):
        result = tonewatch(
            "query", "select 1", "--db", str(store_path), env={"TONEWATCH_BUSY_TIMEOUT_SECONDS": "1"}
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "the database is busy (another process is writing to it" in result.stderr
    assert "retry later" in result.stderr
    with store.open_store(store_path, read_only=True) as con:
        assert store.run_query(con, "select run_id from runs").height == 1  # the holder never committed


def test_second_run_waits_then_exits_with_one_line_before_starting_prefect(store_path):
    before = store_path.read_bytes()
    started = time.monotonic()
    with holding(HOLD_RUN_LOCK, store_path, 60) as holder:
        result = tonewatch(
            "run", str(SAMPLE_CORPUS), "--db", str(store_path), "--report", str(store_path.parent / "r.html"),
            env={"TONEWATCH_LOCK_TIMEOUT_SECONDS": "1"},
        )  # fmt: skip
        seconds = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {store_path}: a tonewatch run (pid {holder.pid}, started "
        + result.stderr.split("started ", 1)[1].split(")", 1)[0]
        + ") is writing to this database; waited 1 s ($TONEWATCH_LOCK_TIMEOUT_SECONDS);"
        " retry when it has finished\n"
    )
    assert seconds < 8, "the refusal should come before Prefect starts"
    assert store_path.read_bytes() == before


def test_run_lock_waits_for_the_holder_then_takes_over(store_path):
    with holding(HOLD_RUN_LOCK, store_path, 1.0):
        started = time.monotonic()
        with locking.run_lock(store_path, timeout_seconds=20):
            waited = time.monotonic() - started
    assert 0.3 < waited < 10


def test_run_lock_is_dropped_when_its_holder_is_killed(store_path):
    with holding(HOLD_RUN_LOCK, store_path, 60) as holder:
        busy = pytest.raises(StoreError, match=f"pid {holder.pid}")
        with busy, locking.run_lock(store_path, timeout_seconds=0.3):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with locking.run_lock(store_path, timeout_seconds=5):
            pass


def test_run_lock_is_reentrant_in_a_thread_and_exclusive_between_threads(store_path):
    order: list[str] = []

    def other_run() -> None:
        with locking.run_lock(store_path, timeout_seconds=20):
            order.append("other")

    # The CLI takes the lock, then the flow it calls takes it again.
    with locking.run_lock(store_path, timeout_seconds=0), locking.run_lock(store_path, timeout_seconds=0):
        thread = threading.Thread(target=other_run)
        thread.start()
        time.sleep(0.5)
        order.append("first")
    thread.join(timeout=30)
    assert order == ["first", "other"]


def test_lock_timeout_setting_is_checked(monkeypatch, store_path):
    monkeypatch.setenv("TONEWATCH_LOCK_TIMEOUT_SECONDS", "soon")
    expected = r"TONEWATCH_LOCK_TIMEOUT_SECONDS: expected a number of seconds, got 'soon'"
    with pytest.raises(StoreError, match=expected), locking.run_lock(store_path):
        pass


def test_two_pipeline_runs_at_once_run_one_after_the_other(prefect_harness, tmp_path):
    """Two runs on one file (threads here; processes behave the same): the second waits for the
    first, neither's batches interleave with the other's, and both corpora are stored whole."""
    from tonewatch.flows.pipeline import pipeline_flow

    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    halves = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    halves[0].write_text("".join(lines[::2]), encoding="utf-8")
    halves[1].write_text("".join(lines[1::2]), encoding="utf-8")
    db_path = tmp_path / "tonewatch.duckdb"
    summaries: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(corpus: Path) -> None:
        try:
            summaries[corpus.stem] = pipeline_flow(
                sources=[str(corpus)], db_path=str(db_path), report_path=None, workers=1
            )
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(corpus,)) for corpus in halves]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with duckdb.connect(str(db_path), read_only=True) as con:
        runs = con.execute(
            "select started_at, finished_at, status, articles_new from runs order by started_at"
        ).fetchall()
        articles = con.execute("select count(*) from articles").fetchall()[0][0]
        orphans = con.execute(
            "select count(*) from edges e left join sentences s using (article_id, sentence_idx)"
            " where s.article_id is null"
        ).fetchall()[0][0]
    (_, first_finished, *first), (second_started, _, *second) = runs
    assert second_started > first_finished, "the second run started before the first had finished"
    assert [first, second] == [["completed", 41], ["completed", 41]]
    assert articles == len(lines) == 82
    assert orphans == 0
