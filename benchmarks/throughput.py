"""Measure tonewatch's end-to-end throughput against raw VADER on the same sentences.

    python benchmarks/throughput.py --articles 10000 [--workers 1] [--json out.json]
    python benchmarks/throughput.py --corpus DIR          # real text instead of the generated corpus

Runs the real pipeline flow into a fresh DuckDB file, then an immediate re-run on the
unchanged corpus, then times VADER alone on exactly the sentences the run stored, all in
this one process. Prints one ``name: value`` per line. Prefect's temporary server is
started before timing (a no-op flow), so the figures are the pipeline's, not the server's
start-up; that start-up is printed as ``prefect_startup_seconds``. On Linux it also prints
``machine_cpu_seconds``, the CPU every process of the machine used during the first run
(its workers, Prefect's server and DuckDB's threads included), and ``cores_busy``, that
over the run's time: what a second worker has left to add on the same cores.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tonewatch.flows import prefect_env  # noqa: E402,F401  (before prefect)

STAGES = ("ingest", "normalize", "split", "actors", "attribution", "score", "store", "aggregate", "report")


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


class TreeMemory:
    """The peak of the summed RSS of this process and every process below it (scoring
    workers, Prefect's server), sampled from /proc every ``interval`` seconds; Linux only."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tree-memory", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _tree_rss_kb(os.getpid()) / 1024)

    def __enter__(self) -> TreeMemory:
        if Path("/proc/self/status").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _tree_rss_kb(root: int) -> int:
    parent_of, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            parent_of[int(entry)] = int(fields["PPid"])
            rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0])
        except (OSError, KeyError, ValueError):
            continue
    total = 0
    for pid, kb in rss.items():
        ancestor = pid
        while ancestor > 1 and ancestor != root:
            ancestor = parent_of.get(ancestor, 0)
        total += kb if ancestor == root else 0
    return total


def _machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (user, system and interrupts;
    not idle, I/O wait or time the hypervisor gave to other machines); None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _compiled_modules() -> int:
    """How many of this process's tonewatch.transforms modules are compiled (see setup.py)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sum(
        1
        for name, module in list(sys.modules.items())
        if name.startswith("tonewatch.transforms.")
        and not name.endswith("__mypyc")
        and (getattr(module, "__file__", None) or "").endswith(suffixes)
    )


def _run(sources: list[Path], db_path: Path, report_path: Path, workers: int):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    parameters = {
        "sources": [str(s) for s in sources],
        "db_path": str(db_path),
        "report_path": str(report_path),
    }
    if "workers" in pipeline_flow.parameters.properties:
        parameters["workers"] = workers
    busy_before = _machine_busy_seconds()
    started = time.perf_counter()
    summary, _ = run_flow_cleanly(pipeline_flow, expected_task_runs=lambda s: s.task_runs, **parameters)
    seconds = time.perf_counter() - started
    busy_after = _machine_busy_seconds()
    machine_cpu = None if busy_before is None or busy_after is None else busy_after - busy_before
    return summary, seconds, machine_cpu


def _raw_vader_seconds(db_path: Path) -> tuple[int, float, int]:
    """VADER alone on every stored sentence, read in chunks (2.45 million texts at N = 100,000
    would otherwise be one list as large as a run's whole working set)."""
    import duckdb
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    count = characters = 0
    seconds = 0.0
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute("select text from sentences")
        while chunk := [row[0] for row in cursor.fetchmany(10_000)]:
            started = time.perf_counter()
            for sentence in chunk:
                analyzer.polarity_scores(sentence)
            seconds += time.perf_counter() - started
            count += len(chunk)
            characters += sum(len(s) for s in chunk)
    return count, seconds, characters


def _start_prefect() -> float:
    from prefect import flow

    @flow(name="tonewatch-benchmark-warmup")
    def warmup() -> None:
        return None

    started = time.perf_counter()
    warmup()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=1000, help="articles to generate (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="scoring worker processes (default 1)")
    parser.add_argument("--corpus", type=Path, help="read this folder instead of generating a corpus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--workdir", type=Path, help="keep the corpus, database and report here")
    args = parser.parse_args(argv)

    from corpus import generate_corpus

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tonewatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus or generate_corpus(workdir / "corpus", args.articles, seed=args.seed)
    db_path, report_path = workdir / "bench.duckdb", workdir / "report.html"
    for stale in (db_path, db_path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)

    figures: dict[str, float] = {"prefect_startup_seconds": round(_start_prefect(), 2)}
    with TreeMemory() as tree:
        first, first_seconds, first_cpu = _run([corpus], db_path, report_path, args.workers)
        rerun, rerun_seconds, _ = _run([corpus], db_path, report_path, args.workers)
    peak_rss_mb = _peak_rss_mb()  # the two runs', not the VADER timing's below
    sentences, vader_seconds, characters = _raw_vader_seconds(db_path)

    figures.update(
        articles=first.totals.get("articles", 0),
        sentences=sentences,
        workers=args.workers,
        compiled_modules=_compiled_modules(),
        end_to_end_seconds=round(first_seconds, 2),
        end_to_end_sentences_per_s=round(sentences / first_seconds, 1),
        raw_vader_sentences_per_s=round(sentences / vader_seconds, 1),
        raw_vader_mb_per_s=round(characters / vader_seconds / 1e6, 2),
        ratio_vs_vader=round(vader_seconds / first_seconds, 3),
    )
    if first_cpu is not None:
        figures.update(
            machine_cpu_seconds=round(first_cpu, 2), cores_busy=round(first_cpu / first_seconds, 3)
        )
    for stage in STAGES:
        figures[f"stage_{stage}_seconds"] = round(first.stage_seconds.get(stage, 0.0), 2)
    figures.update(
        rerun_seconds=round(rerun_seconds, 2),
        rerun_fraction=round(rerun_seconds / first_seconds, 3),
        rerun_sentences_scored=rerun.counts.get("sentences_scored", 0),
        peak_rss_mb=peak_rss_mb,
        peak_tree_rss_mb=round(tree.peak_mb, 1),
        pid=os.getpid(),
    )
    figures.pop("pid")
    for name, value in figures.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
