"""The reliability suite's size (small by default, ``--soak`` for long runs) and its shared fixtures.

A killed run or a concurrent run is a real ``python -m tonewatch.flows`` process. Each would pay
Prefect's start-up (a temporary server per process, 8-10 s); instead every such process of the
session talks to one Prefect server started here on 127.0.0.1, so a run starts in about 3 s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import (
    BAD_RECORDS,
    CORPUS_ARTICLES,
    PHASES,
    WatchedRun,
    run_args,
    run_tonewatch,
    store_rows,
)

REPO = Path(__file__).resolve().parents[2]
PREFECT_START_SECONDS = 120.0


@dataclass(frozen=True)
class Size:
    """How hard each part of the suite pushes; ``small`` runs in CI, ``soak`` on demand."""

    name: str
    examples: int  # hypothesis examples per property
    mutations: int  # mutated inputs per seed file
    flow_fuzz_files: int  # mutated files sent through the real flow
    kill_chains: int  # a chain: fresh store, several killed runs, one completing run
    kills_per_chain: int
    concurrent_rounds: int  # a run with 4 looping readers, and two runs on one file
    readers: int = 4

    @property
    def kills(self) -> int:
        return self.kill_chains * self.kills_per_chain


SMALL = Size("small", examples=40, mutations=12, flow_fuzz_files=24, kill_chains=2, kills_per_chain=10,
             concurrent_rounds=1)  # fmt: skip
SOAK = Size("soak", examples=1500, mutations=400, flow_fuzz_files=300, kill_chains=10, kills_per_chain=10,
            concurrent_rounds=5)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run the reliability suite at its soak size (thousands of inputs, 100 kills)",
    )


@pytest.fixture(scope="session")
def size(pytestconfig: pytest.Config) -> Size:
    # getoption's default covers a run from the repository root, where this conftest is not
    # an initial one and the option is not registered.
    return SOAK if pytestconfig.getoption("--soak", default=False) else SMALL


@pytest.fixture(scope="session")
def figures() -> Counter:
    """What the suite ran and survived, summed over the session (printed with --soak)."""
    return _FIGURES


_FIGURES: Counter = Counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not config.getoption("--soak", default=False) or not _FIGURES:
        return
    terminalreporter.section("reliability figures (soak)")
    for name, value in sorted(_FIGURES.items()):
        shown = f"{value:.1f}" if isinstance(value, float) else f"{value:,}"
        terminalreporter.write_line(f"{name}: {shown}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrefectServer:
    """``prefect server start`` on 127.0.0.1 with its own PREFECT_HOME, restarted if it dies.

    A server that stops answering (killed from outside, as happens on a shared machine) is
    started again on a new port before the next tonewatch process is launched, so one lost
    server does not fail every test after it; the restarts are counted in the figures.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.restarts = 0
        self.process: subprocess.Popen | None = None
        self.api_url = ""
        self._log = (home / "server.log").open("ab")
        self._start()

    def _start(self) -> None:
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        env = self._base_env()
        env.update(PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(port))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + PREFECT_START_SECONDS
        while not self.is_healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._log.flush()
                tail = (self.home / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"the Prefect server did not start on port {port}:\n{tail}", pytrace=False)
            time.sleep(0.5)

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def ensure(self) -> None:
        if self.is_healthy():
            return
        self.stop()
        self.restarts += 1
        _FIGURES["prefect server restarts (killed from outside)"] += 1
        self._start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # The server runs uvicorn in a child process: stop the whole group it leads.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def close(self) -> None:
        self.stop()
        self._log.close()

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PYTHONUNBUFFERED="1",
            NO_COLOR="1",
            COLUMNS="200",
        )
        return env

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a tonewatch subprocess that talks to this server (alive)."""
        self.ensure()
        return {**self._base_env(), "PREFECT_API_URL": self.api_url, **extra}


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """One Prefect server on 127.0.0.1 for every tonewatch subprocess of the session."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-home"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
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


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run of ``corpus`` on a fresh store: its rows, and how long each phase took."""

    rows: dict
    phase_seconds: dict[str, float]


@pytest.fixture(scope="session")
def reference(prefect_server, corpus, tmp_path_factory) -> Reference:
    """An uninterrupted ``tonewatch run`` of the corpus."""
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
    return Reference(store_rows(folder / "ref.duckdb"), lengths)


@pytest.fixture(scope="session")
def first_third(prefect_server, corpus, tmp_path_factory) -> Path:
    """A store holding the first third of the corpus (copied by each test that changes it)."""
    folder = tmp_path_factory.mktemp("first-third")
    source = folder / "source"
    source.mkdir()
    shutil.copy(corpus / "part-0.jsonl", source)
    db = folder / "store.duckdb"
    done = run_tonewatch(*run_args(source, db, folder / "report.html"), env=prefect_server.env(), cwd=folder)
    assert done.returncode == 0, done
    return db
