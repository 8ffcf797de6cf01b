"""benchmarks/targets.py decides issue 7's targets the same way every time (no speed is asserted)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
from benchmark_scripts import REPO, run_benchmark


@pytest.fixture(scope="module")
def targets():
    spec = importlib.util.spec_from_file_location("bench_targets", REPO / "benchmarks" / "targets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def run(
    articles, seconds, ratio, *, sentences=None, rss=500.0, rerun=0.03, score=6.0, aggregate=0.5, report=0.5
):
    return {
        "articles": articles,
        "sentences": sentences or articles * 25,
        "end_to_end_seconds": seconds,
        "ratio_vs_vader": ratio,
        "rerun_fraction": rerun,
        "peak_rss_mb": rss,
        "stage_score_seconds": score,
        "stage_aggregate_seconds": aggregate,
        "stage_report_seconds": report,
    }


def by_name(found):
    return {t.name: t for t in found}


def test_speedup_pairs_each_two_worker_run_with_the_one_worker_run_made_before_it(targets):
    # By position (20/10, 16/12.5, 17/11): pairing the runs sorted by time would give 1.6.
    one = [run(10_000, 20.0, 0.6), run(10_000, 16.0, 0.62), run(10_000, 17.0, 0.61)]
    two = [run(10_000, 10.0, 0.9), run(10_000, 12.5, 0.9), run(10_000, 11.0, 0.9)]
    found = by_name(targets.decide(one, two, run(100_000, 200.0, 0.55), run(10_000, 19.0, 0.6)))
    assert found["two_worker_speedup"].figure == 1.545
    assert not found["two_worker_speedup"].met
    assert found["ratio_vs_vader_one_worker"].figure == 0.61
    assert not found["ratio_vs_vader_one_worker"].met


def test_speedup_says_how_busy_the_cores_were_when_the_runs_measured_it(targets):
    def with_cpu(figures, cpu):
        return {
            **figures,
            "machine_cpu_seconds": cpu,
            "cores_busy": round(cpu / figures["end_to_end_seconds"], 3),
        }

    one = [with_cpu(run(10_000, 16.0, 0.7), 17.6), with_cpu(run(10_000, 15.0, 0.7), 16.5)]
    two = [with_cpu(run(10_000, 10.0, 0.9), 19.36), with_cpu(run(10_000, 10.0, 0.9), 19.8)]
    detail = by_name(targets.decide(one, two, run(100_000, 200.0, 0.55), run(10_000, 15.0, 0.7)))[
        "two_worker_speedup"
    ].detail
    assert "the one-worker runs kept 1.1, 1.1 cores busy" in detail
    assert "used 1.1, 1.2 times the CPU of the one before it" in detail
    # Runs made off Linux carry no CPU figures, and the detail says nothing of them.
    plain = by_name(targets.decide(one[:1], [run(10_000, 10.0, 0.9)], run(100_000, 200.0, 0.55), one[0]))
    assert "cores busy" not in plain["two_worker_speedup"].detail


def test_growth_is_scaled_by_each_runs_own_vader_speed(targets):
    one = [run(10_000, 18.0, 0.63)]
    two = [run(10_000, 12.0, 0.9)]
    # Timed, 230 s / 20 s is 11.5 times; but the large run's machine was slower (its ratio
    # against its own VADER is what the small run's was), so the cost grew exactly linearly.
    large = run(100_000, 230.0, 0.6, sentences=2_500_000)
    after = run(10_000, 20.0, 0.6, sentences=250_000)
    growth = by_name(targets.decide(one, two, large, after))["growth_vader_scaled"]
    assert growth.figure == pytest.approx(10.0)
    assert growth.bound == pytest.approx(11.0)
    assert growth.met
    assert "11.5" in growth.detail

    slower = run(100_000, 230.0, 0.5, sentences=2_500_000)
    growth = by_name(targets.decide(one, two, slower, after))["growth_vader_scaled"]
    assert growth.figure == pytest.approx(12.0) and not growth.met


def test_memory_report_and_rerun_targets_use_the_stated_bounds(targets):
    one = [run(10_000, 18.0, 0.63, rss=560.0, rerun=0.03), run(10_000, 18.0, 0.63, rss=580.0, rerun=0.06)]
    two = [run(10_000, 12.0, 0.9), run(10_000, 12.0, 0.9)]
    large = run(100_000, 200.0, 0.6, rss=870.0, aggregate=3.0, report=1.0)
    found = by_name(targets.decide(one, two, large, run(10_000, 19.0, 0.6, rss=570.0, score=5.0)))
    assert found["rerun_fraction"].figure == 0.06 and not found["rerun_fraction"].met  # the worst run counts
    assert "with two workers 0.03, 0.03" in found["rerun_fraction"].detail
    assert found["peak_rss_growth"].figure == pytest.approx(870 / 570, abs=1e-3)
    assert not found["peak_rss_growth"].met  # 1.526
    assert found["report_seconds_over_scoring"].figure == pytest.approx(4.0 / 6.0, abs=1e-3)
    assert found["report_seconds_over_scoring"].met


def test_targets_script_runs_every_measurement_and_prints_a_verdict_per_target(tmp_path):
    out = tmp_path / "targets.json"
    result = run_benchmark(
        "targets.py", "--articles", "30", "--large", "60", "--rounds", "1",
        "--workdir", str(tmp_path / "w"), "--json", str(out), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    names = [line.split(":", 1)[0] for line in lines]
    assert names == [
        "ratio_vs_vader_one_worker",
        "two_worker_speedup",
        "rerun_fraction",
        "peak_rss_growth",
        "report_seconds_over_scoring",
        "growth_vader_scaled",
    ]
    for line in lines:
        assert re.fullmatch(r"\w+: [0-9.e+-]+ \(target (>=|<=) [0-9.]+\): (met|not met); .+", line), line
    saved = json.loads(out.read_text())
    assert [r["workers"] for r in saved["runs"]["one_worker"]] == [1]
    assert [r["workers"] for r in saved["runs"]["two_workers"]] == [2]
    assert saved["runs"]["large"]["articles"] == 60 and saved["runs"]["after_large"]["articles"] == 30
    assert saved["targets"].keys() == set(names)


def test_targets_script_refuses_a_large_size_that_is_not_larger(tmp_path):
    result = run_benchmark("targets.py", "--articles", "100", "--large", "100", timeout=60)
    assert result.returncode == 2
    assert "--large > --articles" in result.stderr
