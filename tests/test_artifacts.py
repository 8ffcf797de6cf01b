"""Each run's summary and report link as Prefect artifacts, and the same figures in ``runs``."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tonewatch.flows.artifacts import (
    REPORT_KEY,
    SHIFT_SCHEMA,
    SUMMARY_KEY,
    artifact_key,
    summary_markdown,
    tone_shifts,
)

WEEK = {
    "week": pl.Date,
    "source_bloc": pl.Utf8,
    "target_bloc": pl.Utf8,
    "mean_tone": pl.Float64,
    "n": pl.Int64,
}
MONDAY, NEXT_MONDAY = date(2025, 2, 17), date(2025, 2, 24)


def weeks(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(WEEK, row, strict=True)) for row in rows], schema=WEEK)


def shifts(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(SHIFT_SCHEMA, row, strict=True)) for row in rows], schema=SHIFT_SCHEMA)


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        pytest.param(
            weeks((MONDAY, "moscow", "washington", 0.3, 8)),
            weeks((MONDAY, "moscow", "washington", 0.3, 8)),
            shifts(),
            id="nothing-changed",
        ),
        pytest.param(
            weeks((MONDAY, "moscow", "washington", 0.5, 6)),
            weeks((MONDAY, "moscow", "washington", -0.1, 12)),
            shifts(("moscow", "washington", MONDAY, MONDAY, 0.5, 6, -0.1, 12, -0.6)),
            id="same-week-moved",
        ),
        pytest.param(
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9)),
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9), (NEXT_MONDAY, "kyiv", "moscow", -0.2, 5)),
            shifts(("kyiv", "moscow", NEXT_MONDAY, MONDAY, -0.5, 9, -0.2, 5, 0.3)),
            id="new-week-against-the-dyads-last-week",
        ),
        pytest.param(
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9)),
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9), (NEXT_MONDAY, "kyiv", "moscow", 0.9, 2)),
            shifts(),
            id="too-few-statements",
        ),
        pytest.param(
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9)),
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9), (MONDAY, "europe", "moscow", -0.9, 7)),
            shifts(),
            id="new-dyad-has-no-before",
        ),
        pytest.param(
            weeks((MONDAY, "kyiv", "moscow", -0.5, 9), (MONDAY, "moscow", "kyiv", -0.4, 9)),
            weeks((MONDAY, "kyiv", "moscow", -0.4, 10), (MONDAY, "moscow", "kyiv", -0.7, 10)),
            shifts(
                ("moscow", "kyiv", MONDAY, MONDAY, -0.4, 9, -0.7, 10, -0.3),
                ("kyiv", "moscow", MONDAY, MONDAY, -0.5, 9, -0.4, 10, 0.1),
            ),
            id="largest-change-first",
        ),
    ],
)
def test_tone_shifts(previous, current, expected):
    assert_frame_equal(tone_shifts(previous, current), expected, abs_tol=1e-9)


@dataclass
class Run:
    run_id: str = "r1"
    db_path: Path = Path("tonewatch.duckdb")
    report_path: Path | None = Path("reports/latest.html")
    counts: Counter = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)
    reject_reasons: Counter = field(default_factory=Counter)
    seconds: float = 1.25


def test_summary_of_a_first_run_with_rejects():
    run = Run(counts=Counter(articles_new=3, sentences_scored=20, rejects=3))
    run.reject_reasons.update({"not a feed": 2, "no article text found": 1})
    text = summary_markdown(run, shifts(), previous_started=None, bloc_names={}, scorer_version="sv1")
    assert text.startswith("# tonewatch run: 3 new articles, 20 sentences scored\n")
    assert "| not a feed | 2 |\n| no article text found | 1 |" in text
    assert "This is the first run" in text
    assert "| scorer version | `sv1` |" in text


def test_summary_names_blocs_and_the_week_compared_with():
    table = shifts(("kyiv", "moscow", NEXT_MONDAY, MONDAY, -0.5, 9, -0.2, 5, 0.3))
    text = summary_markdown(
        Run(),
        table,
        previous_started=datetime(2025, 2, 24, 9, 0, tzinfo=UTC),
        bloc_names={"kyiv": "Kyiv", "moscow": "Moscow"},
        scorer_version="sv1",
    )
    assert "compared with the run of 2025-02-24 09:00 UTC" in text
    assert (
        "| Kyiv → Moscow | 2025-02-24 | -0.50 (n=9, week of 2025-02-17) | -0.20 (n=5) | **+0.30** |" in text
    )
    assert "## Rejects by reason\n\nNone." in text


@pytest.mark.parametrize(
    ("db", "key"),
    [("tonewatch.duckdb", SUMMARY_KEY), ("/data/Tone Watch 2.duckdb", f"{SUMMARY_KEY}-tone-watch-2")],
)
def test_artifact_key_follows_the_store(db, key):
    assert artifact_key(SUMMARY_KEY, Path(db)) == key


WARM = [
    '"We welcome the constructive and useful talks with Washington," Peskov said.',
    '"The dialogue with the United States is promising and friendly," Lavrov said.',
]
COLD = [
    '"Washington\'s sanctions are hostile, illegal and a disgrace," Lavrov said.',
    '"The United States is lying and threatening us with aggression," Peskov said.',
]


def write_corpus(path: Path, texts: list[str], *, first_day: int) -> Path:
    records = [
        {
            "url": f"https://example.net/{path.stem}/{i}",
            "title": f"Talks, day {i}",
            "text": f"{texts[i % 2]} The meeting took place in Riyadh on Monday, officials said.",
            "published_at": f"2025-02-{first_day + i % 3:02d}T10:00:00Z",
            "outlet": "Example Wire",
            "outlet_home": "other",
        }
        for i in range(6)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_runs(prefect_harness, tmp_path_factory):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    folder = tmp_path_factory.mktemp("artifacts")
    warm = write_corpus(folder / "warm.jsonl", WARM, first_day=17)
    cold = write_corpus(folder / "cold.jsonl", COLD, first_day=18)
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    db_path, report = folder / "tonewatch.duckdb", folder / "report.html"
    for sources in ([warm], [warm, cold, folder / "broken.json"]):
        run_flow_cleanly(
            pipeline_flow,
            expected_task_runs=lambda s: s.task_runs,
            sources=[str(s) for s in sources],
            db_path=str(db_path),
            report_path=str(report),
        )
    with duckdb.connect(str(db_path), read_only=True) as con:
        runs = con.sql(
            "select articles_new, rejects, reject_reasons, tone_shifts, report_path, prefect_flow_run_id"
            " from runs order by started_at"
        ).pl()
    return runs, report


def read_artifacts(flow_run_id: str) -> dict[str, object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {artifact.key: artifact for artifact in found}


def test_runs_table_has_the_figures(two_runs):
    runs, report = two_runs
    first, second = runs.row(0, named=True), runs.row(1, named=True)
    assert (first["articles_new"], json.loads(first["tone_shifts"])) == (6, [])
    assert second["articles_new"] == 6
    assert json.loads(second["reject_reasons"]) == {"not valid JSON": 1}
    [shift] = json.loads(second["tone_shifts"])
    assert (shift["source_bloc"], shift["target_bloc"], shift["week"]) == (
        "moscow",
        "washington",
        "2025-02-17",
    )
    assert shift["mean_before"] > 0.3 and shift["delta"] < -0.3
    assert (shift["n_before"], shift["n_after"]) == (6, 12)
    assert first["report_path"] == second["report_path"] == str(report.resolve())


def test_each_run_publishes_a_summary_and_a_report_link(two_runs):
    runs, report = two_runs
    first = read_artifacts(runs["prefect_flow_run_id"][0])
    second = read_artifacts(runs["prefect_flow_run_id"][1])
    assert set(first) == set(second) == {SUMMARY_KEY, REPORT_KEY}
    assert "This is the first run" in first[SUMMARY_KEY].data
    summary = second[SUMMARY_KEY].data
    assert summary.startswith("# tonewatch run: 6 new articles, 12 sentences scored")
    assert "| new articles | 6 |" in summary and "| rejects | 1 |" in summary
    assert "## Largest tone shifts since the previous run" in summary
    assert "| Moscow → Washington | 2025-02-17 | +0.56 (n=6) | -0.04 (n=12) | **-0.60** |" in summary
    # Prefect stores a link artifact as a Markdown link.
    assert second[REPORT_KEY].data == f"[report.html]({report.resolve().as_uri()})"
