"""What a finished run tells the people watching: a Markdown summary and a link to the report.

Both are Prefect artifacts with a fixed key, so the UI shows each run's version in one place;
the same figures go to the run's row in ``runs``. "Tone shifts since the previous run" compare
each dyad's weekly means now with the same weeks as the previous completed run left them (a
snapshot kept in the store, so re-scored statements count with their old and new scores). A
week the previous run had not seen is compared with the dyad's latest week it had. The
comparison (``tone_shifts``) and the Markdown (``summary_markdown``) are pure; ``publish_run``
is the I/O edge.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from . import store

# A week's mean moves a lot with its first statements: shifts need this many after the run.
MIN_SHIFT_STATEMENTS = 5
TOP_SHIFTS = 5
SUMMARY_KEY = "tonewatch-run-summary"
REPORT_KEY = "tonewatch-report"
SHIFT_SCHEMA = {
    "source_bloc": pl.Utf8,
    "target_bloc": pl.Utf8,
    "week": pl.Date,
    "before_week": pl.Date,
    "mean_before": pl.Float64,
    "n_before": pl.Int64,
    "mean_after": pl.Float64,
    "n_after": pl.Int64,
    "delta": pl.Float64,
}


class FinishedRun(Protocol):
    """The parts of a pipeline ``RunSummary`` a summary needs."""

    run_id: str
    db_path: Path
    report_path: Path | None
    counts: Counter
    totals: dict[str, int]
    reject_reasons: Counter
    seconds: float


def tone_shifts(
    previous: pl.DataFrame,
    current: pl.DataFrame,
    *,
    min_statements: int = MIN_SHIFT_STATEMENTS,
    top: int = TOP_SHIFTS,
) -> pl.DataFrame:
    """The dyad weeks whose mean tone changed most since ``previous``, largest change first.

    Both frames are dyad weeks (week, source_bloc, target_bloc, mean_tone, n). A week that
    changed is compared with the same week before, else with the dyad's latest earlier week.
    Pure: no I/O.
    """
    dyad = ["source_bloc", "target_bloc"]
    before = previous.select(
        *dyad,
        pl.col("week").alias("before_week"),
        pl.col("mean_tone").alias("mean_before"),
        pl.col("n").alias("n_before"),
    ).sort("before_week")
    changed = (
        current.join(previous, on=[*dyad, "week"], how="left", suffix="_previous")
        .filter(
            pl.col("n_previous").is_null()
            | (pl.col("n") != pl.col("n_previous"))
            | ((pl.col("mean_tone") - pl.col("mean_tone_previous")).abs() > 1e-9)
        )
        .filter(pl.col("n") >= min_statements)
        .select(*dyad, "week", pl.col("mean_tone").alias("mean_after"), pl.col("n").alias("n_after"))
        .sort("week")
    )
    if changed.is_empty() or before.is_empty():
        return pl.DataFrame(schema=SHIFT_SCHEMA)
    # Both sides are sorted by week, which is what an as-of join by dyad needs.
    compared = changed.join_asof(
        before, left_on="week", right_on="before_week", by=dyad, strategy="backward", check_sortedness=False
    )
    return (
        compared.drop_nulls("mean_before")
        .with_columns((pl.col("mean_after") - pl.col("mean_before")).alias("delta"))
        .sort(pl.col("delta").abs(), *dyad, "week", descending=[True, False, False, False])
        .head(top)
        .select(list(SHIFT_SCHEMA))
        .cast(SHIFT_SCHEMA)
    )


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def summary_markdown(
    run: FinishedRun,
    shifts: pl.DataFrame,
    *,
    previous_started: datetime | None,
    bloc_names: dict[str, str],
    scorer_version: str,
) -> str:
    """The run's summary as Markdown: counts, rejects by reason, the largest tone shifts. Pure."""
    c = run.counts
    lines = [
        f"# tonewatch run: {c['articles_new']} new articles, {c['sentences_scored']} sentences scored",
        "",
        "| | |",
        "|---|---|",
        f"| new articles | {c['articles_new']} |",
        f"| changed articles | {c['articles_changed']} |",
        f"| re-scored articles | {c['articles_rescored']} |",
        f"| unchanged articles | {c['articles_unchanged']} |",
        f"| not in English | {c['articles_not_english']} |",
        f"| scored sentences | {c['sentences_scored']} |",
        f"| edges found | {c['edges_found']} |",
        f"| rejects | {c['rejects']} |",
        f"| articles in the store | {run.totals.get('articles', 0)} |",
        f"| seconds | {run.seconds:.1f} |",
        f"| scorer version | `{scorer_version}` |",
        f"| store | `{run.db_path}` |",
        "",
        "## Rejects by reason",
        "",
    ]
    if run.reject_reasons:
        lines += ["| reason | inputs |", "|---|---|"]
        lines += [f"| {reason} | {n} |" for reason, n in run.reject_reasons.most_common()]
    else:
        lines.append("None.")
    lines += ["", "## Largest tone shifts since the previous run", ""]
    if previous_started is None:
        lines.append("This is the first run: there is nothing to compare with yet.")
    elif shifts.is_empty():
        lines.append(
            f"No dyad's weekly tone moved (weeks with at least {MIN_SHIFT_STATEMENTS} statements)"
            f" since the run of {previous_started:%Y-%m-%d %H:%M} UTC."
        )
    else:
        lines += [
            f"Weekly mean tone, compared with the run of {previous_started:%Y-%m-%d %H:%M} UTC.",
            "",
            "| speaker → target | week of | before | after | change |",
            "|---|---|---|---|---|",
        ]
        for row in shifts.iter_rows(named=True):
            dyad = f"{bloc_names.get(row['source_bloc'], row['source_bloc'])} → "
            dyad += bloc_names.get(row["target_bloc"], row["target_bloc"])
            before = f"{_signed(row['mean_before'])} (n={row['n_before']}"
            before += ")" if row["before_week"] == row["week"] else f", week of {row['before_week']})"
            lines.append(
                f"| {dyad} | {row['week']} | {before} | {_signed(row['mean_after'])} (n={row['n_after']})"
                f" | **{_signed(row['delta'])}** |"
            )
    return "\n".join(lines) + "\n"


def artifact_key(base: str, db_path: Path) -> str:
    """``base``, plus the store's name when it is not the default: one history per store."""
    slug = re.sub(r"[^a-z0-9]+", "-", db_path.stem.lower()).strip("-")
    return base if slug in ("", "tonewatch") else f"{base}-{slug}"


def _shift_records(shifts: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}
        for row in shifts.iter_rows(named=True)
    ]


def publish_run(run: FinishedRun) -> pl.DataFrame:
    """Store the run's figures, then publish its summary and report link; returns the shifts."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    with store.open_store(run.db_path) as con:
        previous = store.read_dyad_weeks(con, snapshot=True)
        current = store.read_dyad_weeks(con)
        previous_started = store.previous_run_started(con, run.run_id)
        shifts = tone_shifts(previous, current) if previous_started else pl.DataFrame(schema=SHIFT_SCHEMA)
        scorer_version = store.read_corpus_stats(con)["scorer_version"]
        bloc_names = {bloc_id: name for bloc_id, name, _ in store.read_blocs(con)}
        store.record_run_figures(
            con,
            run.run_id,
            reject_reasons=json.dumps(dict(run.reject_reasons.most_common())),
            tone_shifts=json.dumps(_shift_records(shifts)),
            report_path=str(run.report_path.resolve()) if run.report_path else None,
            prefect_flow_run_id=flow_run_id,
            dyad_weeks=current,
        )
    if flow_run_id is None:
        return shifts  # called outside a flow run: nothing to attach artifacts to
    markdown = summary_markdown(
        run,
        shifts,
        previous_started=previous_started,
        bloc_names=bloc_names,
        scorer_version=str(scorer_version),
    )
    create_markdown_artifact(
        markdown=markdown,
        key=artifact_key(SUMMARY_KEY, run.db_path),
        description=f"What the run did to {run.db_path}",
    )
    if run.report_path is not None:
        create_link_artifact(
            link=run.report_path.resolve().as_uri(),
            link_text=run.report_path.name,
            key=artifact_key(REPORT_KEY, run.db_path),
            description="The HTML report this run wrote (opens offline)",
        )
    return shifts
