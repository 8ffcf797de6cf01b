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
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from polars.testing import assert_frame_equal
from reliability_support import (
    BAD_RECORDS,
    PHASES,
    Timeline,
    WatchedRun,
    has_traceback,
    run_args,
    run_statuses,
    run_tonewatch,
    store_problems,
    store_rows,
)

CHAINS_AT_ONCE = 2


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
    expected_rows, lengths = reference.rows, reference.phase_seconds
    rng = random.Random(f"{seed}:{number}")
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
        watched = WatchedRun(run_args(corpus, db, report, verbose=True), server.env(), folder)
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
    assert "read and score" in kills and "write" in kills, f"seed {seed}: {dict(kills)}"


def check_rejects_recorded(db: Path, corpus: Path, *, context: str) -> None:
    """Every bad record of the corpus is in ``rejects``, whichever run got to read it."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        sources = {row[0] for row in con.execute("select distinct source from rejects").fetchall()}
    expected = {f"{corpus / 'bad.jsonl'}:{n}" for n in range(1, len(BAD_RECORDS) + 1)}
    assert expected <= sources, f"{context}: rejects missing: {sorted(expected - sources)}"
