"""Killed runs: ``tonewatch run`` is SIGKILLed at chosen moments of every phase, then run again.

Each chain starts from an empty store, kills several runs in a row (each at a random moment
after a phase began: start-up, reading and scoring, writing, linking copies, the report), then
lets one run finish. After every kill the store must open and pass the consistency check;
after the chain it must hold exactly the rows of an uninterrupted run, every reject, and a
``runs`` table where the killed runs are still 'running' with no finished_at.

The moments come from the run's own Prefect log (a task's "Finished" line starts the next
phase) plus a random delay within how long that phase took in the uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal
from reliability_support import (
    has_traceback,
    run_statuses,
    run_tonewatch,
    store_problems,
    store_rows,
    tonewatch_command,
)

REPO = Path(__file__).resolve().parents[2]
CORPUS_ARTICLES = 200
CHAINS_AT_ONCE = 2
BAD_RECORDS = [
    '{"url": "https://bench.tonewatch.invalid/bad/1", "title": "no text"}',
    "not json at all",
    '{"text": "Peskov said so.", "published_at": "9999-12-31T00:00:00Z"}',
]
# A phase begins when the run logs a line holding all of these words; () when the process starts.
PHASES = {
    "start-up": (),
    "read and score": ("Beginning flow run",),
    "write": ("Task run 'analyze_unit-", "Finished in state"),
    "link copies": ("Task run 'store_unit-", "Finished in state"),
    "report and finish": ("Task run 'find_copies-", "Finished in state"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A few hundred generated articles in three JSON-lines files, and one file of bad records."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from corpus import generate_corpus
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    folder = tmp_path_factory.mktemp("kill-corpus")
    generated = generate_corpus(folder / "generated", CORPUS_ARTICLES, seed=11)
    lines = [line for shard in sorted(generated.glob("*.jsonl")) for line in shard.read_text().splitlines()]
    corpus = folder / "corpus"
    corpus.mkdir()
    third = len(lines) // 3 + 1
    for number in range(3):
        chunk = lines[number * third : (number + 1) * third]
        (corpus / f"part-{number}.jsonl").write_text("\n".join(chunk) + "\n", encoding="utf-8")
    (corpus / "bad.jsonl").write_text("\n".join(BAD_RECORDS) + "\n", encoding="utf-8")
    return corpus


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


@pytest.fixture(scope="module")
def reference(prefect_server, corpus, tmp_path_factory):
    """An uninterrupted run: its rows, and how long each phase of it took."""
    folder = tmp_path_factory.mktemp("reference")
    env = prefect_server.env()
    watched = WatchedRun(
        run_args(corpus, folder / "ref.duckdb", folder / "report.html", verbose=True), env, folder
    )
    code = watched.finish()
    assert code == 0, watched.log()
    begins = {phase: watched.timeline.began(phase) for phase in PHASES}
    assert None not in begins.values(), f"a phase was not logged: {begins}\n{watched.log()}"
    ends = list(begins.values())[1:] + [watched.timeline.lines[-1][0]]
    lengths = {phase: max(0.05, end - begins[phase]) for phase, end in zip(begins, ends, strict=True)}
    return store_rows(folder / "ref.duckdb"), lengths, watched.started


def phase_reached(timeline: Timeline) -> str:
    """The last phase whose start the run logged before it was killed."""
    return [phase for phase in PHASES if timeline.began(phase) is not None][-1]


@dataclass
class Chain:
    """One chain's outcome: its kills by the phase they interrupted, and its completed runs."""

    kills: Counter = field(default_factory=Counter)
    completed: int = 0


def run_chain(number: int, seed: int, *, corpus: Path, folder: Path, reference, size, server) -> Chain:
    """Kill ``size.kills_per_chain`` runs on a fresh store, finish it, check it against the reference."""
    expected_rows, lengths, _ = reference
    rng = random.Random(f"{seed}:{number}")
    env = server.env()
    db, report = folder / "store.duckdb", folder / "report.html"
    chain = Chain()
    # Phases in their order: a kill late in a run leaves less for the next one to do, and a
    # run with no work left has no phase to kill in.
    phases = list(PHASES)
    plan = [phases[i * len(phases) // size.kills_per_chain] for i in range(size.kills_per_chain)]
    for attempt in range(size.kills_per_chain * 3):
        if chain.kills.total() == size.kills_per_chain:
            break
        # Past the plan (a run ended before its kill), aim at a phase every run has.
        phase = plan[attempt] if attempt < len(plan) else "read and score"
        watched = WatchedRun(run_args(corpus, db, report, verbose=True), env, folder)
        # A run may have no such phase left to do (an earlier run stored its work): it ends.
        if watched.wait_for(phase):
            time.sleep(rng.uniform(0.0, lengths[phase]))
        if watched.process.poll() is not None:
            code = watched.finish()
            assert code == 0 and not has_traceback(watched.log()), watched.log()
            chain.completed += 1
            continue
        watched.kill()
        chain.kills[phase_reached(watched.timeline)] += 1
        context = f"seed {seed}, chain {number}, kill {attempt} (aimed at {phase}):\n{watched.log()}"
        if db.exists():
            assert store_problems(db) == {}, context
        if report.exists():
            assert report.read_text(encoding="utf-8").rstrip().endswith("</html>"), context
    final = run_tonewatch(*run_args(corpus, db, report), env=server.env(), cwd=folder)
    context = f"seed {seed}, chain {number}"
    assert final.returncode == 0 and final.stderr.strip() == "", f"{context}: {final}"
    chain.completed += 1
    assert store_problems(db) == {}, context
    rows = store_rows(db)
    for table, expected in expected_rows.items():
        try:
            assert_frame_equal(rows[table], expected, check_exact=True, check_dtypes=True)
        except AssertionError as error:
            raise AssertionError(f"{context}, table {table}: {error}") from error
    # A killed run is 'running' with no finished_at; one killed after it recorded its end
    # (while Prefect finished recording) is 'completed', as it was.
    statuses = Counter(run_statuses(db))
    context += f": {chain.completed} runs completed, {chain.kills.total()} killed: {statuses}"
    assert set(statuses) <= {("completed", True), ("running", False)}, context
    assert statuses[("completed", True)] >= chain.completed, context
    assert (
        statuses[("completed", True)] + statuses[("running", False)] <= chain.completed + chain.kills.total()
    )
    check_rejects_recorded(db, corpus, context=context)
    return chain


def test_killed_runs_leave_a_consistent_store_and_the_next_run_completes_the_work(
    prefect_server, corpus, reference, size, tmp_path, figures
):
    seed = int(os.environ.get("TONEWATCH_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)
    started = time.monotonic()
    folders = [tmp_path / f"chain-{number}" for number in range(size.kill_chains)]
    for folder in folders:
        folder.mkdir()
    # Two chains at a time: a run waits on Prefect and the disk as much as on the CPU.
    with ThreadPoolExecutor(max_workers=CHAINS_AT_ONCE) as pool:
        futures = [
            pool.submit(run_chain, number, seed, corpus=corpus, folder=folder, reference=reference, size=size,
                        server=prefect_server)
            for number, folder in enumerate(folders)
        ]  # fmt: skip
        chains = [future.result() for future in futures]
    kills = sum((chain.kills for chain in chains), Counter())
    figures["killed runs survived"] += kills.total()
    figures["kill chains completed"] += len(chains)
    figures["killed-run seconds"] += time.monotonic() - started
    for phase, count in kills.items():
        figures[f"kills in phase: {phase}"] += count
    assert kills.total() >= size.kills, f"seed {seed}: only {kills.total()} kills ({dict(kills)})"
    assert {"read and score", "write"} <= set(kills), f"seed {seed}: {dict(kills)}"


def check_rejects_recorded(db: Path, corpus: Path, *, context: str) -> None:
    """Every bad record of the corpus is in ``rejects``, whichever run got to read it."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        sources = {row[0] for row in con.execute("select distinct source from rejects").fetchall()}
    expected = {f"{corpus / 'bad.jsonl'}:{n}" for n in range(1, len(BAD_RECORDS) + 1)}
    assert expected <= sources, f"{context}: rejects missing: {sorted(expected - sources)}"
