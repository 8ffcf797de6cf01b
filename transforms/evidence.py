"""Pick the sentences a report shows as evidence: the strongest behind every point it draws.

Pure: no I/O. A report cannot carry every statement (100,000 sentences would not fit in
an e-mail attachment), so it carries the strongest few of each cell a figure can point
at (a period of a dyad, an outlet home's tone toward a bloc, an actor on the leaderboard),
every cell served before any gets a second row, up to a limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from .aggregate import period_end, period_start

EVIDENCE_PER_CELL = 5
EVIDENCE_LIMIT = 3000
SHIFT_EVIDENCE_AFTER = 3
SHIFT_EVIDENCE_BEFORE = 1
# Statements soon after a change say most about it: the first periods after, not the last.
SHIFT_WINDOW_PERIODS = 3
STATEMENT_KEY = ("article_id", "sentence_idx", "source_actor", "target_actor")
MENTION_KEY = ("article_id", "sentence_idx", "target_actor")
WINDOW_SCHEMA = {
    "shift_id": pl.Utf8, "source_bloc": pl.Utf8, "target_bloc": pl.Utf8, "role": pl.Utf8, "since": pl.Date,
    "until": pl.Date, "sign": pl.Float64, "reference": pl.Float64, "take": pl.Int64,
}  # fmt: skip


def _strongest_first(frame: pl.LazyFrame, key: Sequence[str]) -> pl.LazyFrame:
    # Ties broken by date (newest first) and the key, so the same store gives the same report.
    return frame.with_columns(strength=pl.col("score").abs()).sort(
        ["strength", "published_at", *key], descending=[True, True, *[False] * len(key)]
    )


def select_evidence(
    rows: pl.LazyFrame,
    *,
    cells: Sequence[Sequence[str]],
    key: Sequence[str] = STATEMENT_KEY,
    per_cell: int = EVIDENCE_PER_CELL,
    limit: int = EVIDENCE_LIMIT,
) -> pl.DataFrame:
    """Up to ``per_cell`` strongest rows (by |score|) of each group in ``cells``, strongest first.

    ``cells`` lists groupings, e.g. ``[["period", "source_bloc", "target_bloc"], ["target_actor"]]``.
    A row's rank is its best rank in any grouping; rows are taken by rank, so when ``limit``
    cuts, every cell keeps its strongest row before any keeps its second.
    """
    ranked = rank_in_cells(rows, cells=cells, key=key).filter(pl.col("cell_rank") < per_cell)
    return take_by_rank(ranked, key=key, limit=limit)


def rank_in_cells(rows: pl.LazyFrame, *, cells: Sequence[Sequence[str]], key: Sequence[str]) -> pl.LazyFrame:
    """``rows`` with ``cell_rank``: a row's best place (0: strongest) in any of its ``cells``.

    ``store.ReportReader.ranked_evidence`` computes the same rank in SQL, for the rows of a large corpus.
    """
    if not cells:
        raise ValueError("select_evidence needs at least one grouping in cells, got none")
    return _strongest_first(rows, key).with_columns(
        pl.min_horizontal([pl.int_range(pl.len()).over(list(cell)) for cell in cells]).alias("cell_rank")
    )


def take_by_rank(ranked: pl.LazyFrame, *, key: Sequence[str], limit: int = EVIDENCE_LIMIT) -> pl.DataFrame:
    """Up to ``limit`` of the ``ranked`` rows (``rank_in_cells``), lowest ``cell_rank`` first,
    returned strongest first without the rank."""
    return (
        _strongest_first(ranked.drop("strength", strict=False), key)
        .with_row_index("order")
        .sort(["cell_rank", "order"])
        .head(limit)
        .sort("order")
        .drop("order", "cell_rank", "strength")
        .collect()
    )


def shift_evidence(
    statements: pl.LazyFrame,
    shifts: pl.DataFrame,
    *,
    granularity: str,
    after: int = SHIFT_EVIDENCE_AFTER,
    before: int = SHIFT_EVIDENCE_BEFORE,
    window_periods: int = SHIFT_WINDOW_PERIODS,
) -> pl.DataFrame:
    """For each shift, the statements that show it: ``shift_id``, ``role`` and the statement.

    role "after": the strongest statements in the shift's direction (beyond the mean before
    it) in the first ``window_periods`` periods after it; role "before": the strongest the
    other way (beyond the mean after it) in the last ``window_periods`` periods before it.
    A sentence is shown once per shift and role, even when it has several targets in the bloc.
    """
    if shifts.is_empty():
        return statements.head(0).with_columns(shift_id=pl.lit(""), role=pl.lit("")).collect()
    frame = shift_windows(
        shifts, granularity=granularity, after=after, before=before, window_periods=window_periods
    ).lazy()
    day = pl.col("published_at").dt.convert_time_zone("UTC").dt.date()
    return (
        statements.join(frame, on=["source_bloc", "target_bloc"], how="inner")
        .filter((day >= pl.col("since")) & (day < pl.col("until")))
        .with_columns(directed=(pl.col("score") - pl.col("reference")) * pl.col("sign"))
        .filter(pl.col("directed") > 0)
        .sort(
            ["shift_id", "role", "directed", "published_at", "article_id", "sentence_idx"],
            descending=[False, False, True, True, False, False],
        )
        .unique(subset=["shift_id", "role", "article_id", "sentence_idx"], keep="first", maintain_order=True)
        .filter(pl.int_range(pl.len()).over(["shift_id", "role"]) < pl.col("take"))
        .drop("since", "until", "sign", "reference", "take", "directed")
        .collect()
    )


def shift_windows(
    shifts: pl.DataFrame,
    *,
    granularity: str,
    after: int = SHIFT_EVIDENCE_AFTER,
    before: int = SHIFT_EVIDENCE_BEFORE,
    window_periods: int = SHIFT_WINDOW_PERIODS,
) -> pl.DataFrame:
    """Where ``shift_evidence`` looks for each shift's statements: shift_id, source_bloc,
    target_bloc, role, since and until (dates, until exclusive), sign, reference and take."""
    windows = []
    for shift in shifts.iter_rows(named=True):
        after_until = shift["after_start"]
        for _ in range(window_periods):
            after_until = period_end(after_until, granularity)
        after_until = min(after_until, shift["after_end"] + timedelta(days=1))
        before_since = shift["after_start"]
        for _ in range(window_periods):
            before_since = period_start(before_since - timedelta(days=1), granularity)
        before_since = max(before_since, shift["before_start"])
        direction = 1.0 if shift["delta"] >= 0 else -1.0
        common = {
            "shift_id": shift["shift_id"],
            "source_bloc": shift["source_bloc"],
            "target_bloc": shift["target_bloc"],
        }
        windows.append(
            {**common, "role": "after", "since": shift["after_start"], "until": after_until,
             "sign": direction, "reference": shift["mean_before"], "take": after}
        )  # fmt: skip
        windows.append(
            {**common, "role": "before", "since": before_since,
             "until": shift["before_end"] + timedelta(days=1), "sign": -direction,
             "reference": shift["mean_after"], "take": before}
        )  # fmt: skip
    return pl.DataFrame(windows, schema=WINDOW_SCHEMA)
