"""Check issue 7's throughput targets in one go, with the runs paired the same way each time.

    python benchmarks/targets.py                        # 10,000 and 100,000 articles, 3 rounds
    python benchmarks/targets.py --articles 2000 --large 20000 --rounds 2 --json out.json

This machine's speed drifts by 15-30% within minutes, more than some targets' margins, so
a target decided from two runs picked by hand depends on which runs were picked. Here every
figure comes from ``throughput.py`` runs, each in a process of its own (a process keeps its
caches, so a second run in it would not be a first run), made in a fixed order:

- ``--rounds`` rounds of a one-worker and a two-worker run at ``--articles``, interleaved,
  so each two-worker run has a one-worker run made just before it;
- one one-worker run at ``--large`` articles, then at once one at ``--articles`` again, so
  the growth is taken between neighbours.

Each target is then decided on the median over rounds, and growth is given both as it was
timed and scaled by raw VADER's speed in each of the two runs (``sentences / ratio_vs_vader``
is a run's time in units of its own VADER time), as the issue asks for ratios measured
within a run. Prints one line per target: its figure, the bound and ``met`` or ``not met``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

Figures = Mapping[str, float]


@dataclass(frozen=True)
class Target:
    name: str
    figure: float
    bound: float
    at_least: bool  # the figure must reach the bound (else stay at or under it)
    detail: str

    @property
    def met(self) -> bool:
        return self.figure >= self.bound if self.at_least else self.figure <= self.bound

    def line(self) -> str:
        relation = ">=" if self.at_least else "<="
        verdict = "met" if self.met else "not met"
        return f"{self.name}: {self.figure:g} (target {relation} {self.bound:g}): {verdict}; {self.detail}"


def _run_cost(figures: Figures) -> float:
    """A run's time in units of raw VADER's time per sentence in that same run."""
    return figures["sentences"] / figures["ratio_vs_vader"]


def decide(
    one_worker: Sequence[Figures],
    two_workers: Sequence[Figures],
    large: Figures,
    after_large: Figures,
) -> list[Target]:
    """The targets, decided on the runs: ``one_worker[i]`` was made just before
    ``two_workers[i]``, ``after_large`` right after ``large``."""

    def listed(values: Sequence[float]) -> str:
        return ", ".join(f"{v:.3g}" for v in values)

    ratios = [f["ratio_vs_vader"] for f in one_worker]
    speedups = [
        a["end_to_end_seconds"] / b["end_to_end_seconds"]
        for a, b in zip(one_worker, two_workers, strict=True)
    ]
    # What a second worker has left to add on the same cores (absent off Linux).
    measured = [
        (a, b)
        for a, b in zip(one_worker, two_workers, strict=True)
        if "machine_cpu_seconds" in a and "machine_cpu_seconds" in b
    ]
    busy = [a["cores_busy"] for a, _ in measured]
    cpu_growth = [b["machine_cpu_seconds"] / a["machine_cpu_seconds"] for a, b in measured]
    cpu_detail = (
        f"; the one-worker runs kept {listed(busy)} cores busy, and each two-worker run used"
        f" {listed(cpu_growth)} times the CPU of the one before it"
        if measured
        else ""
    )
    reruns = [f["rerun_fraction"] for f in one_worker]
    two_worker_reruns = [f["rerun_fraction"] for f in two_workers]
    small_peaks = [f["peak_rss_mb"] for f in [*one_worker, after_large]]
    scoring = [f["stage_score_seconds"] for f in [*one_worker, after_large]]
    report = large["stage_aggregate_seconds"] + large["stage_report_seconds"]
    timed_growth = large["end_to_end_seconds"] / after_large["end_to_end_seconds"]
    scaled_growth = _run_cost(large) / _run_cost(after_large)
    size_ratio = large["articles"] / after_large["articles"]
    # The bound is 11 times for 10 times the articles: 10% over linear.
    growth_bound = round(1.1 * size_ratio, 3)

    return [
        Target("ratio_vs_vader_one_worker", round(statistics.median(ratios), 3), 0.7, True,
               f"median of {listed(ratios)}"),
        Target("two_worker_speedup", round(statistics.median(speedups), 3), 1.7, True,
               f"median of {listed(speedups)} (each over the one-worker run just before it){cpu_detail}"),
        Target("rerun_fraction", round(max(reruns), 3), 0.05, False,
               f"largest of {listed(reruns)}; with two workers {listed(two_worker_reruns)}"),
        Target("peak_rss_growth", round(large["peak_rss_mb"] / statistics.median(small_peaks), 3), 1.5, False,
               f"{large['peak_rss_mb']:g} MB against the median of {listed(small_peaks)} MB"),
        Target("report_seconds_over_scoring", round(report / statistics.median(scoring), 3), 1.0, False,
               f"aggregate + report {report:.2f} s at {large['articles']:g} articles against"
               f" scoring {listed(scoring)} s at {after_large['articles']:g}"),
        Target("growth_vader_scaled", round(scaled_growth, 3), growth_bound, False,
               f"timed: {timed_growth:.3g} ({large['end_to_end_seconds']:g} s"
               f" / {after_large['end_to_end_seconds']:g} s); ratio_vs_vader {large['ratio_vs_vader']:g}"
               f" and {after_large['ratio_vs_vader']:g}"),
    ]  # fmt: skip


def _measure(articles: int, workers: int, corpus: Path, workdir: Path, name: str) -> dict[str, float]:
    """One ``throughput.py`` run in a process of its own; its figures."""
    out = workdir / f"{name}.json"
    command = [
        sys.executable, str(HERE / "throughput.py"), "--corpus", str(corpus), "--workers", str(workers),
        "--workdir", str(workdir / name), "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name}: throughput.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    figures = json.loads(out.read_text())
    if figures["articles"] != articles:
        raise SystemExit(f"{name}: expected {articles} articles, the run stored {figures['articles']}")
    print(
        f"  {name}: {figures['end_to_end_seconds']} s, ratio_vs_vader {figures['ratio_vs_vader']}",
        file=sys.stderr,
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> list[Target]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000, help="the size of the paired runs (10,000)")
    parser.add_argument("--large", type=int, default=100_000, help="the size growth is measured at (100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="one- and two-worker pairs (3)")
    parser.add_argument("--workdir", type=Path, help="keep corpora, runs and figures here")
    parser.add_argument("--json", type=Path, help="also write every run's figures and the targets here")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.articles < 1 or args.large <= args.articles:
        parser.error("need --rounds >= 1 and --large > --articles >= 1")

    from corpus import generate_corpus

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tonewatch-targets-"))
    workdir.mkdir(parents=True, exist_ok=True)
    small_corpus = generate_corpus(workdir / f"corpus-{args.articles}", args.articles)
    large_corpus = generate_corpus(workdir / f"corpus-{args.large}", args.large)

    one_worker, two_workers = [], []
    for round_number in range(1, args.rounds + 1):
        one_worker.append(_measure(args.articles, 1, small_corpus, workdir, f"round{round_number}-w1"))
        two_workers.append(_measure(args.articles, 2, small_corpus, workdir, f"round{round_number}-w2"))
    large = _measure(args.large, 1, large_corpus, workdir, "large-w1")
    after_large = _measure(args.articles, 1, small_corpus, workdir, "after-large-w1")

    targets = decide(one_worker, two_workers, large, after_large)
    for target in targets:
        print(target.line())
    if args.json:
        runs = {
            "one_worker": one_worker,
            "two_workers": two_workers,
            "large": large,
            "after_large": after_large,
        }
        verdicts = {t.name: {"figure": t.figure, "bound": t.bound, "met": t.met} for t in targets}
        args.json.write_text(json.dumps({"runs": runs, "targets": verdicts}, indent=2) + "\n")
    return targets


if __name__ == "__main__":
    main()
