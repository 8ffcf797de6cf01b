"""Helpers the reliability tests share: a hard per-input deadline, the store's consistency check,
its rows as sorted frames for comparison, and running the real command line in a subprocess."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

CORPUS_ARTICLES = 200
BAD_RECORDS = [
    '{"url": "https://bench.tonewatch.invalid/bad/1", "title": "no text"}',
    "not json at all",
    '{"text": "Peskov said so.", "published_at": "9999-12-31T00:00:00Z"}',
]
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


def copy_store(db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / db.name
    shutil.copy(db, copy)
    return copy


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
    started = time.monotonic()
    done = subprocess.run(
        tonewatch_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    return Finished(
        list(map(str, args)), done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


# A phase of a run begins when it logs (with -v) a line holding all of these words; () when the
# process starts.
PHASES = {
    "start-up": (),
    "read and score": ("Beginning flow run",),
    "write": ("Task run 'analyze_unit-", "Finished in state"),
    "report and finish": ("Task run 'store_unit-", "Finished in state"),
}


@dataclass
class Timeline:
    """Seconds after the process started at which each logged line was seen."""

    lines: list[tuple[float, str]] = field(default_factory=list)

    def began(self, phase: str) -> float | None:
        """When ``phase`` began, or None if the run never got there."""
        words = PHASES[phase]
        if not words:
            return 0.0
        for seconds, line in self.lines:
            if all(word in line for word in words):
                return seconds
        return None


class WatchedRun:
    """A ``tonewatch run`` subprocess whose log lines are timed as they arrive."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.timeline = Timeline()
        self.process = subprocess.Popen(
            tonewatch_command(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stdout = ""

    def _read(self) -> None:
        for line in self.process.stderr:
            with self._seen:
                self.timeline.lines.append((time.monotonic() - self.started, line.rstrip("\n")))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, phase: str, *, timeout: float = 120) -> bool:
        """True once ``phase`` began; False if the run ended first."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while self.timeline.began(phase) is None:
                if self.process.poll() is not None and not self._reader.is_alive():
                    return False
                if time.monotonic() > deadline:
                    raise AssertionError(f"{phase} did not begin within {timeout} s:\n{self.log()}")
                self._seen.wait(0.05)
        return True

    def kill(self) -> float:
        """SIGKILL the run (and anything it started); returns the moment, in seconds from its start."""
        moment = time.monotonic() - self.started
        os.killpg(self.process.pid, signal.SIGKILL)
        self.finish()
        return moment

    def finish(self, timeout: float = 180) -> int:
        self.stdout = self.process.stdout.read() if self.process.stdout else ""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    def log(self) -> str:
        return "\n".join(line for _, line in self.timeline.lines)[-3000:]


def run_args(corpus: Path, db: Path, report: Path, *, verbose: bool = False) -> list[str]:
    """``tonewatch run``; with ``verbose`` it logs each task's end, which times the kills."""
    return ["run", str(corpus), "--db", str(db), "--report", str(report), *(["-v"] if verbose else [])]


class Slowloris:
    """An asyncio server on 127.0.0.1 that answers one byte per ``pause_seconds``, for ever.

    ``stage`` is where it trickles: the status line and headers, or the body after complete headers.
    """

    def __init__(self, stage: str, pause_seconds: float = 1.0) -> None:
        self.stage, self.pause_seconds = stage, pause_seconds
        self.bytes_sent = 0
        self.writers: list[asyncio.StreamWriter] = []
        # The loop runs in its own thread from the start: the caller's thread may run one already
        # (Playwright's sync API does).
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.server = asyncio.run_coroutine_threadsafe(started, self.loop).result(timeout=10)

    @property
    def url(self) -> str:
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/slow"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.stage == "body":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
                trickle = b"<p>" + b"a" * 99_997
            else:
                trickle = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 100_000
            for byte in trickle:
                writer.write(bytes([byte]))
                await writer.drain()
                self.bytes_sent += 1
                await asyncio.sleep(self.pause_seconds)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _stop(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.wait_closed()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()
