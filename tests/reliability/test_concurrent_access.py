"""Concurrent access: a run while four readers query in a loop, and two runs on one file.

Readers are what analysts run next to a scheduled run: two loop on ``tonewatch query`` (a new
process per query) and two hold a read-only DuckDB client open in a loop. Every answer must be
a consistent snapshot (no orphan rows, counts that only grow) or a clear one-line "busy"
message; never an exception trace. The run must finish with exactly the rows of an
uninterrupted run. Two runs started together on one file must end with those rows too: the
second waits for the first, or, when told to wait less than the first needs, says so in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from polars.testing import assert_frame_equal
from reliability_support import (
    copy_store,
    has_traceback,
    run_args,
    run_statuses,
    run_tonewatch,
    store_problems,
    store_rows,
    tonewatch_command,
)

HERE = Path(__file__).parent
SNAPSHOT_SQL = (HERE / "reader_loop.py").read_text().split('SNAPSHOT = """', 1)[1].split('"""', 1)[0]
QUERY_TIMEOUT_SECONDS = 60
# Readers pause between queries, as a person or a dashboard does; on two cores, four readers
# that never pause would starve the run of CPU rather than test how it shares the file.
READER_PAUSE_SECONDS = 0.25


def assert_same_rows(db: Path, reference, context: str) -> None:
    rows = store_rows(db)
    for table, expected in reference.rows.items():
        try:
            assert_frame_equal(rows[table], expected, check_exact=True)
        except AssertionError as error:
            raise AssertionError(f"{context}, table {table}: {error}") from error


class QueryLoop(threading.Thread):
    """``tonewatch query`` in a loop, one process per query, until ``stop`` is set (then once more)."""

    def __init__(self, db: Path, env: dict[str, str], cwd: Path, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.db, self.env, self.cwd, self.stop = db, env, cwd, stop
        self.outcomes: list[dict] = []

    def run(self) -> None:
        while True:
            last = self.stop.is_set()
            started = time.monotonic()
            done = subprocess.run(
                tonewatch_command("query", SNAPSHOT_SQL, "--db", self.db, "--format", "json"),
                env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=QUERY_TIMEOUT_SECONDS,
            )  # fmt: skip
            outcome = {"code": done.returncode, "stderr": done.stderr, "seconds": time.monotonic() - started}
            if done.returncode == 0:
                outcome.update(json.loads(done.stdout)[0])
            self.outcomes.append(outcome)
            if last:
                return
            time.sleep(READER_PAUSE_SECONDS)


def check_snapshots(outcomes: list[dict], *, who: str) -> Counter:
    """Each answer is consistent and no smaller than the one before; returns ok/busy counts."""
    seen: Counter = Counter()
    articles = 0
    for outcome in outcomes:
        if outcome.get("ok", outcome.get("code") == 0):
            for name in ("orphan_sentences", "orphan_mentions", "orphan_edges", "articles_without_sentences"):
                assert outcome[name] == 0, f"{who}: inconsistent snapshot {outcome}"
            assert outcome["articles"] >= articles, f"{who}: articles went from {articles} to {outcome}"
            articles = outcome["articles"]
            seen["ok"] += 1
        else:
            seen["busy"] += 1
    return seen


def check_busy_messages(outcomes: list[dict], *, who: str) -> None:
    for outcome in outcomes:
        if outcome["code"] == 0:
            continue
        message = outcome["stderr"]
        assert outcome["code"] == 1, f"{who}: {outcome}"
        assert not has_traceback(message) and message.count("\n") == 1, f"{who}: {message!r}"
        assert message.startswith("error: ") and "busy" in message and "retry" in message, message


def test_a_run_with_four_readers_looping_ends_with_every_row_and_readers_see_snapshots(
    prefect_server, corpus, first_third, reference, size, tmp_path, figures
):
    db = copy_store(first_third, tmp_path / "store")
    env = prefect_server.env()
    for round_number in range(size.concurrent_rounds):
        stop = threading.Event()
        stop_file = tmp_path / f"stop-{round_number}"
        cli_readers = [QueryLoop(db, env, tmp_path, stop) for _ in range(size.readers // 2)]
        duckdb_readers = [
            subprocess.Popen(
                [sys.executable, str(HERE / "reader_loop.py"), str(db), str(stop_file)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(size.readers - len(cli_readers))
        ]
        for reader in cli_readers:
            reader.start()
        time.sleep(1.0)  # the readers are at it before the run starts
        # Each round re-reads every file: a touched file is read again, its articles unchanged.
        for path in corpus.glob("*.jsonl"):
            path.touch()
        run = run_tonewatch(*run_args(corpus, db, tmp_path / "report.html"), env=env, cwd=tmp_path)
        time.sleep(0.5)
        stop.set()
        stop_file.touch()
        for reader in cli_readers:
            reader.join(timeout=QUERY_TIMEOUT_SECONDS + 10)
            assert not reader.is_alive()
        outputs = [process.communicate(timeout=60) for process in duckdb_readers]
        context = f"round {round_number}"
        assert run.returncode == 0 and run.stderr == "", f"{context}: {run}"
        totals: Counter = Counter()
        for number, reader in enumerate(cli_readers):
            who = f"{context}, tonewatch query reader {number}"
            check_busy_messages(reader.outcomes, who=who)
            totals += check_snapshots(reader.outcomes, who=who)
            assert reader.outcomes[-1]["code"] == 0, f"{who}: the store is free again: {reader.outcomes[-1]}"
        for number, (process, (stdout, stderr)) in enumerate(zip(duckdb_readers, outputs, strict=True)):
            who = f"{context}, duckdb reader {number}"
            assert process.returncode == 0 and stderr == "", f"{who}: {stderr[-3000:]}"
            outcomes = [json.loads(line) for line in stdout.splitlines()]
            for outcome in outcomes:
                assert outcome["ok"] or "lock" in outcome["error"].lower(), f"{who}: {outcome}"
            totals += check_snapshots(outcomes, who=who)
            assert outcomes[-1]["ok"], f"{who}: the store is free again: {outcomes[-1]}"
        assert store_problems(db) == {}
        assert_same_rows(db, reference, context)
        figures["concurrent reader queries"] += totals.total()
        figures["concurrent reader queries answered"] += totals["ok"]
        figures["concurrent reader queries told busy"] += totals["busy"]
        figures["runs with 4 readers"] += 1


def test_two_runs_on_one_file_both_finish_with_every_row_once(
    prefect_server, corpus, reference, size, tmp_path
):
    # The second waits for the first's lock; 30 s by default, longer here so that a loaded
    # machine cannot turn the wait into a refusal (the next test covers the refusal).
    env = prefect_server.env(TONEWATCH_LOCK_TIMEOUT_SECONDS="300")
    for round_number in range(size.concurrent_rounds):
        folder = tmp_path / f"round-{round_number}"
        folder.mkdir()
        db = folder / "store.duckdb"
        runs = [
            subprocess.Popen(
                tonewatch_command(*run_args(corpus, db, folder / f"report-{n}.html")),
                env=env,
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for n in range(2)
        ]
        outputs = [run.communicate(timeout=180) for run in runs]
        for run, (stdout, stderr) in zip(runs, outputs, strict=True):
            assert run.returncode == 0 and stderr == "", f"round {round_number}: {stdout}\n{stderr}"
        assert store_problems(db) == {}
        assert_same_rows(db, reference, f"round {round_number}")
        assert Counter(run_statuses(db)) == {("completed", True): 2}


def test_a_second_run_that_cannot_wait_long_enough_says_so_and_changes_nothing(
    prefect_server, corpus, reference, tmp_path
):
    db = tmp_path / "store.duckdb"
    first = subprocess.Popen(
        tonewatch_command(*run_args(corpus, db, tmp_path / "first.html")), env=prefect_server.env(),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()):  # the first run holds the lock
        assert time.monotonic() < deadline and first.poll() is None, "the first run never took its lock"
        time.sleep(0.05)
    second = run_tonewatch(
        *run_args(corpus, db, tmp_path / "second.html"),
        env=prefect_server.env(TONEWATCH_LOCK_TIMEOUT_SECONDS="0.5"),
        cwd=tmp_path,
    )
    stdout, stderr = first.communicate(timeout=180)
    assert first.returncode == 0 and stderr == "", f"{stdout}\n{stderr}"
    assert second.returncode == 1 and second.stdout == "", second
    assert second.stderr.count("\n") == 1 and not has_traceback(second.stderr), second
    assert second.stderr.startswith(f"error: {db}: a tonewatch run (pid {first.pid}, started "), second
    assert "retry when it has finished" in second.stderr
    assert not (tmp_path / "second.html").exists()
    assert store_problems(db) == {}
    assert_same_rows(db, reference, "after the refused run")
    assert Counter(run_statuses(db)) == {("completed", True): 1}
