"""Helpers the reliability tests share: a hard per-input deadline, the store's consistency check,
its rows as sorted frames for comparison, and running the real command line in a subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

# The rows a run produces, compared between an interrupted and an uninterrupted store. Times a
# run stamps (ingested_at, updated_at, checked_at) differ between runs by design.
COMPARED = {
    "articles": "select article_id, url, outlet, outlet_home, published_at, title, language, content_hash,"
    " dup_of, scorer_version, is_undated from articles",
    "sentences": "select * from sentences",
    "mentions": "select * from mentions",
    "edges": "select * from edges",
    "article_bands": "select * from article_bands",
    "near_duplicates": "select * from near_duplicates",
}
# Each query counts rows that must not exist in a consistent store.
CONSISTENCY = {
    "duplicate article ids": "select count(*) - count(distinct article_id) from articles",
    "duplicate sentences": "select count(*) from (select article_id, sentence_idx from sentences"
    " group by all having count(*) > 1)",
    "duplicate mentions": "select count(*) from (select article_id, sentence_idx, mention_idx from mentions"
    " group by all having count(*) > 1)",
    "sentences without their article": "select count(*) from sentences s"
    " anti join articles a using (article_id)",
    "mentions without their sentence": "select count(*) from mentions m"
    " anti join sentences s using (article_id, sentence_idx)",
    "edges without their sentence": "select count(*) from edges e"
    " anti join sentences s using (article_id, sentence_idx)",
    "edges without their article": "select count(*) from edges e anti join articles a using (article_id)",
    "English articles without sentences": "select count(*) from articles a"
    " where a.language = 'en' and a.article_id not in (select article_id from sentences)",
    "rows of another scorer version than their article's": "select count(*) from sentences s"
    " join articles a using (article_id) where s.scorer_version is distinct from a.scorer_version",
    "duplicates pointing at a missing article": "select count(*) from articles"
    " where dup_of is not null and dup_of not in (select article_id from articles)",
    "runs neither running nor finished": "select count(*) from runs where not ("
    "(status = 'running' and finished_at is null) or (status <> 'running' and finished_at is not null))",
}


class InputOverran(BaseException):
    """An input took longer than its deadline (BaseException: code under test cannot swallow it)."""


@contextmanager
def hard_deadline(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the block after ``seconds``: a hang fails the test instead of stalling it."""

    def expired(_signum, _frame):
        raise InputOverran(f"{what}: still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def store_problems(db_path: Path) -> dict[str, int]:
    """Every consistency rule the store breaks, with the number of offending rows.

    A store killed while it was being created may hold no tables yet: consistent, as long as
    no migration is recorded without them (each is applied in one transaction).
    """
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = {
            row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "articles" not in tables:
            recorded = 0
            if "schema_migrations" in tables:
                recorded = con.execute("select count(*) from schema_migrations").fetchall()[0][0]
            return {"migrations recorded without their tables": recorded} if recorded else {}
        found = {name: con.execute(sql).fetchall()[0][0] for name, sql in CONSISTENCY.items()}
    return {name: count for name, count in found.items() if count}


def store_rows(db_path: Path) -> dict[str, pl.DataFrame]:
    """The compared tables, each sorted on all its columns."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = {name: pl.from_arrow(con.sql(sql).to_arrow_table()) for name, sql in COMPARED.items()}
    return {name: frame.sort(frame.columns, nulls_last=True) for name, frame in frames.items()}


def run_statuses(db_path: Path) -> list[tuple[str, bool]]:
    """(status, has finished_at) of every run, oldest first."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("select status, finished_at is not null from runs order by started_at").fetchall()
    return [(status, finished) for status, finished in rows]


def table_counts(db_path: Path, tables=("articles", "sentences", "mentions", "edges", "rejects", "runs")):
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}


TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Exception in thread", "Error:\n")


def has_traceback(text: str) -> bool:
    return any(marker in text for marker in TRACEBACK_MARKERS)


@dataclass
class Finished:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def __str__(self) -> str:
        return (
            f"tonewatch {' '.join(self.args)} exited {self.returncode} after {self.seconds:.1f} s\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


def tonewatch_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "tonewatch.flows", *map(str, args)]


def run_tonewatch(*args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 180) -> Finished:
    """Run the command line to its end; a hang past ``timeout`` fails the test."""
    import time

    started = time.monotonic()
    done = subprocess.run(
        tonewatch_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    return Finished(
        list(map(str, args)), done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )
