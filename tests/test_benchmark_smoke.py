"""The throughput benchmark runs end to end at a small size (a smoke test, not a timed one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark_scripts import run_benchmark

from tonewatch.transforms import score

EXPECTED = {
    "articles",
    "sentences",
    "end_to_end_seconds",
    "end_to_end_sentences_per_s",
    "raw_vader_sentences_per_s",
    "ratio_vs_vader",
    "rerun_fraction",
    "peak_rss_mb",
    "peak_tree_rss_mb",
    "compiled_modules",
    *(
        f"stage_{s}_seconds"
        for s in (
            "ingest",
            "normalize",
            "split",
            "actors",
            "attribution",
            "score",
            "store",
            "aggregate",
            "report",
        )
    ),
}


def test_benchmark_prints_every_figure_and_reruns_without_scoring(tmp_path):
    out = tmp_path / "figures.json"
    result = run_benchmark(
        "throughput.py", "--articles", "60", "--workdir", str(tmp_path / "w"), "--json", str(out), timeout=300
    )
    assert result.returncode == 0, result.stderr
    printed = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert printed.keys() >= EXPECTED
    figures = json.loads(out.read_text())
    assert figures["articles"] == 60
    assert figures["sentences"] > 60
    assert figures["rerun_sentences_scored"] == 0
    assert 0 < figures["ratio_vs_vader"] < 1.5
    # Each run says whether it measured the compiled modules or the sources.
    compiled = Path(score.__file__).suffix == ".so"
    assert (figures["compiled_modules"] > 0) == compiled
    if Path("/proc/self/status").exists():
        # The whole tree, Prefect's server included, holds more than this process alone.
        assert figures["peak_tree_rss_mb"] > figures["peak_rss_mb"] * 0.5
        # The machine's CPU over the run: this process alone keeps one core busy for most
        # of it, and no machine has more busy cores than it has cores.
        assert figures["machine_cpu_seconds"] > 0.3 * figures["end_to_end_seconds"]
        assert figures["cores_busy"] <= (os.cpu_count() or 1) + 0.1


def test_cores_benchmark_prints_how_much_two_processes_give(tmp_path):
    out = tmp_path / "cores.json"
    result = run_benchmark(
        "cores.py", "--sentences", "2000", "--rounds", "2", "--json", str(out), timeout=300
    )
    assert result.returncode == 0, result.stderr
    printed = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert printed.keys() == {
        "sentences", "rounds", "solo_seconds", "pair_seconds", "pair_speedup", "pair_speedup_per_round"
    }  # fmt: skip
    figures = json.loads(out.read_text())
    assert figures["sentences"] == 2000 and len(figures["pair_speedup_per_round"]) == 2
    assert figures["solo_seconds"] > 0 and figures["pair_seconds"] > 0
    # Two processes never do more than two processes' work, whatever the machine.
    assert 0 < figures["pair_speedup"] <= 2.2


def test_cores_benchmark_refuses_an_empty_measurement():
    result = run_benchmark("cores.py", "--rounds", "0", timeout=60)
    assert result.returncode == 2
    assert "--sentences and --rounds must be at least 1" in result.stderr
