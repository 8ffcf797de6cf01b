"""Scoring processes on Prefect's temporary server: they report to the run's server.

A run without PREFECT_API_URL, as a user's first `tonewatch run --workers 2` is: in its
own process, watched from /proc for the Prefect servers it and its workers start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tonewatch.flows.settings import SAMPLE_CORPUS

# Runs in a process of its own; prints the servers seen and the run's summary figures.
SCRIPT = """
import json, os, sys, threading
from pathlib import Path

from tonewatch.flows.orchestration import run_flow_cleanly
from tonewatch.flows.pipeline import pipeline_flow

SERVER = b"prefect.server.api.server:create_app"
servers, stop = set(), threading.Event()


def parents():
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    found[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return found


def descends_from_here(pid, parent_of):
    while pid in parent_of and pid > 1:
        if pid == os.getpid():
            return True
        pid = parent_of[pid]
    return False


def watch():
    while not stop.wait(0.05):
        parent_of = parents()
        for pid in parent_of:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    is_server = SERVER in cmdline.read()
            except OSError:
                continue
            # This process's own command line names the server too: it is left out.
            if is_server and pid != os.getpid() and descends_from_here(pid, parent_of):
                servers.add(pid)


watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
summary, _ = run_flow_cleanly(
    pipeline_flow,
    expected_task_runs=lambda s: s.task_runs,
    sources=[sys.argv[1]],
    db_path=sys.argv[2],
    report_path=None,
    batch_articles=1,
    workers=2,
)
stop.set()
watcher.join()
print(json.dumps({"servers": len(servers), "articles": summary.totals["articles"]}))
"""


def test_worker_processes_use_the_runs_temporary_server(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    for part in range(3):  # three files, each a unit of its own at batch_articles=1
        (corpus / f"part-{part}.jsonl").write_text("".join(lines[part::3]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(corpus), str(tmp_path / "store.duckdb")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["articles"] == len(lines)
    # The run's own temporary server, and none started by either worker.
    assert seen["servers"] == 1, result.stdout


def _descendants(pid: int) -> dict[int, bytes]:
    """The processes below ``pid``, by pid, with their command lines."""
    parent_of, cmdlines = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent_of[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                cmdlines[int(entry)] = cmdline.read()
        except (OSError, IndexError, ValueError):
            continue
    found = {}
    for child in parent_of:
        ancestor = parent_of[child]
        while ancestor > 1 and ancestor != pid:
            ancestor = parent_of.get(ancestor, 0)
        if ancestor == pid:
            found[child] = cmdlines.get(child, b"")
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_scoring_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    # A deployment's time limit or the OOM killer ends a run with SIGKILL, mid-scoring.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from corpus import generate_corpus

    # Three units of 1,000; with two workers the last two are split in halves: five units.
    corpus = generate_corpus(tmp_path / "corpus", 3_000, seed=3)
    run = subprocess.Popen(
        [sys.executable, "-m", "tonewatch.flows", "run", str(corpus), "--db", str(tmp_path / "s.duckdb")]
        + ["--report", str(tmp_path / "r.html"), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        pool: dict[int, bytes] = {}
        while time.monotonic() < deadline and run.poll() is None:
            below = _descendants(run.pid)
            pool = {pid: cmd for pid, cmd in below.items() if b"multiprocessing.forkserver" in cmd}
            if len(pool) >= 3:  # the fork server and both workers
                break
            time.sleep(0.05)
        assert len(pool) >= 3, "the run ended before its scoring pool started"
        servers = [pid for pid, cmd in _descendants(run.pid).items() if b"uvicorn" in cmd]
        run.kill()
        run.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(_running, pool)):
            time.sleep(0.1)
        assert not [pid for pid in pool if _running(pid)], "scoring processes outlived the killed run"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        # Prefect's temporary server of a SIGKILLed run is left behind by Prefect itself.
        for pid in servers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
