"""Aggregate edges into tone series: mean, count and a 95% confidence interval per period.

Pure: no I/O. Lazy frames in, one collect per result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

GRANULARITIES = {"day": "1d", "week": "1w", "month": "1mo"}
AUTO_GRANULARITY = "auto"
Z_95 = 1.96
# Fewer statements than this and a mean is an anecdote, not a tone: flagged in every figure.
MIN_STATEMENTS = 5
# "auto" picks the finest period that still gives a readable number of points.
AUTO_DAY_MAX_DAYS = 45
AUTO_WEEK_MAX_DAYS = 550
LEADERBOARD_SIZE = 8

SERIES_COLUMNS = ("mean_tone", "n", "ci_low", "ci_high")


def check_granularity(granularity: str) -> str:
    """``granularity`` itself if it is day, week or month; a ValueError naming it otherwise."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    return granularity


def coarser_granularity(granularity: str) -> str | None:
    """The next coarser period (day → week → month), or None after month."""
    order = list(GRANULARITIES)
    position = order.index(check_granularity(granularity))
    return order[position + 1] if position + 1 < len(order) else None


def choose_granularity(start: date | None, end: date | None) -> str:
    """The period for "auto": day up to ~6 weeks of data, week up to ~18 months, else month."""
    if start is None or end is None:
        return "week"
    days = (end - start).days
    if days <= AUTO_DAY_MAX_DAYS:
        return "day"
    return "week" if days <= AUTO_WEEK_MAX_DAYS else "month"


def period_start(day: date, granularity: str) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday)."""
    check_granularity(granularity)
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(start: date, granularity: str) -> date:
    """The first day after the period that begins on ``start`` (an exclusive bound)."""
    check_granularity(granularity)
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def period_expr(granularity: str) -> pl.Expr:
    """``published_at`` (UTC) truncated to its period's first day, as a date."""
    return (
        pl.col("published_at")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        .dt.truncate(GRANULARITIES[check_granularity(granularity)])
        .dt.date()
        .alias("period")
    )


def count_once(edges: pl.LazyFrame, *, count_duplicates: bool = False) -> pl.LazyFrame:
    """Drop the edges of syndicated copies (``dup_of`` set) unless every copy should count."""
    if count_duplicates:
        return edges
    return edges.filter(pl.col("dup_of").is_null())


def select_statements(
    edges: pl.LazyFrame,
    *,
    blocs: Sequence[str] = (),
    actors: Sequence[str] = (),
    count_duplicates: bool = False,
) -> pl.LazyFrame:
    """The edges a report covers: each counted once, between ``blocs`` (both ends, when given),
    by or about ``actors`` (either end, when given)."""
    selected = count_once(edges, count_duplicates=count_duplicates)
    if blocs:
        selected = selected.filter(pl.col("source_bloc").is_in(blocs) & pl.col("target_bloc").is_in(blocs))
    if actors:
        selected = selected.filter(
            pl.col("source_actor").is_in(actors) | pl.col("target_actor").is_in(actors)
        )
    return selected


def select_target_tones(
    tones: pl.LazyFrame,
    *,
    blocs: Sequence[str] = (),
    actors: Sequence[str] = (),
    count_duplicates: bool = False,
) -> pl.LazyFrame:
    """Mention tones a report covers: one per sentence and target (an actor named twice in a
    sentence is one opinion), toward ``blocs`` and by or about ``actors`` when given."""
    selected = count_once(tones, count_duplicates=count_duplicates).unique(
        subset=["article_id", "sentence_idx", "target_actor"], keep="first", maintain_order=True
    )
    if blocs:
        selected = selected.filter(pl.col("target_bloc").is_in(blocs))
    if actors:
        selected = selected.filter(
            pl.col("source_actor").is_in(actors) | pl.col("target_actor").is_in(actors)
        )
    return selected


def tone_moments(edges: pl.LazyFrame, *, by: Sequence[str], granularity: str | None = None) -> pl.DataFrame:
    """Statement count, mean tone and standard deviation (``sd``, ddof 1) per group, and per
    period too when ``granularity`` is given: what every tone figure is computed from.

    The store computes the same columns in SQL for a report on a large corpus
    (``store.ReportReader.moments``), so the rows never leave DuckDB.
    """
    keys = ["period", *by] if granularity is not None else list(by)
    rows = edges.with_columns(period_expr(granularity)) if granularity is not None else edges
    return (
        rows.group_by(keys)
        .agg(
            pl.col("score").mean().alias("mean_tone"),
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("score").std(ddof=1).alias("sd"),
        )
        .sort(keys)
        .collect()
    )


def tone_intervals(moments: pl.DataFrame) -> pl.DataFrame:
    """``moments`` (see ``tone_moments``) with the normal-approximation 95% CI of each mean in
    place of ``sd``; one statement has no interval (null)."""
    half_width = Z_95 * pl.col("sd") / pl.col("n").cast(pl.Float64).sqrt()
    return moments.with_columns(
        ci_low=pl.col("mean_tone") - half_width, ci_high=pl.col("mean_tone") + half_width
    ).drop("sd")


def tone_series(
    edges: pl.LazyFrame, *, by: Sequence[str], granularity: str = "week", fill_empty: bool = False
) -> pl.DataFrame:
    """Mean tone, statement count and normal-approximation 95% CI per period and group.

    ``edges`` needs ``published_at`` and ``score``; a single statement has no interval (null).
    With ``fill_empty``, every period between the first and the last gets a row per group,
    with n = 0 and null tone where nothing was said, so lines break instead of bridging gaps.
    """
    moments = tone_moments(edges, by=by, granularity=granularity)
    return series_from_moments(moments, by=by, granularity=granularity, fill_empty=fill_empty)


def series_from_moments(
    moments: pl.DataFrame, *, by: Sequence[str], granularity: str, fill_empty: bool = False
) -> pl.DataFrame:
    """``tone_series`` from per-period moments (``tone_moments`` with ``granularity``)."""
    series = tone_intervals(moments)
    return complete_periods(series, by=by, granularity=granularity) if fill_empty else series


def complete_periods(series: pl.DataFrame, *, by: Sequence[str], granularity: str) -> pl.DataFrame:
    """``series`` with a row (n = 0, null tone) for each missing period of each group."""
    if series.is_empty():
        return series
    first, last = series["period"].min(), series["period"].max()
    periods = pl.date_range(first, last, GRANULARITIES[check_granularity(granularity)], eager=True)
    grid = pl.DataFrame({"period": periods}).join(series.select(by).unique(), how="cross")
    return (
        grid.join(series, on=["period", *by], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .select(series.columns)
        .sort(["period", *by])
    )


def tone_totals(edges: pl.LazyFrame, *, by: Sequence[str]) -> pl.DataFrame:
    """Mean tone, count and 95% CI per group over the whole period."""
    return tone_intervals(tone_moments(edges, by=by))


def dyad_totals(edges: pl.LazyFrame) -> pl.DataFrame:
    """Mean tone and count per directed bloc pair over the whole period (the who → whom matrix)."""
    return tone_totals(edges, by=DYAD)


DYAD = ("source_bloc", "target_bloc")
TARGET = ("target_actor", "target", "target_bloc")
SPEAKER = ("source_actor", "speaker", "source_bloc")


def target_leaderboard(
    edges: pl.LazyFrame, *, min_statements: int = MIN_STATEMENTS, limit: int = LEADERBOARD_SIZE
) -> pl.DataFrame:
    """The most positive and the most negative targets among those with at least ``min_statements``.

    Columns: rank_group ("warmest": mean tone above zero, or "coldest": below), target_actor,
    target, target_bloc, mean_tone, n, ci_low, ci_high; warmest first, each strongest first.
    When every target is spoken of coldly, there is no warmest one.
    """
    return target_leaders(tone_totals(edges, by=TARGET), min_statements=min_statements, limit=limit)


def target_leaders(
    totals: pl.DataFrame, *, min_statements: int = MIN_STATEMENTS, limit: int = LEADERBOARD_SIZE
) -> pl.DataFrame:
    """``target_leaderboard`` from the per-target totals (``tone_totals`` by ``TARGET``)."""
    totals = totals.filter(pl.col("n") >= min_statements)
    warmest = (
        totals.filter(pl.col("mean_tone") > 0)
        .sort(["mean_tone", "n", "target_actor"], descending=[True, True, False])
        .head(limit)
    )
    coldest = (
        totals.filter(pl.col("mean_tone") < 0)
        .sort(["mean_tone", "n", "target_actor"], descending=[False, True, False])
        .head(limit)
    )
    return pl.concat(
        [
            warmest.with_columns(rank_group=pl.lit("warmest")),
            coldest.with_columns(rank_group=pl.lit("coldest")),
        ]
    ).select("rank_group", *totals.columns)


def speaker_leaderboard(edges: pl.LazyFrame, *, limit: int = LEADERBOARD_SIZE) -> pl.DataFrame:
    """The most active speakers: source_actor, speaker, source_bloc, n, mean_tone; most first."""
    return speaker_leaders(tone_moments(edges, by=SPEAKER), limit=limit)


def speaker_leaders(moments: pl.DataFrame, *, limit: int = LEADERBOARD_SIZE) -> pl.DataFrame:
    """``speaker_leaderboard`` from the per-speaker moments (``tone_moments`` by ``SPEAKER``)."""
    return (
        moments.select(*SPEAKER, "n", "mean_tone")
        .sort(["n", "source_actor"], descending=[True, False])
        .head(limit)
    )


def strongest_evidence(evidence: pl.LazyFrame, *, limit: int = 200) -> pl.DataFrame:
    """The statements with the strongest tone, strongest first (ties: newest first)."""
    return (
        evidence.with_columns(strength=pl.col("score").abs())
        .sort(["strength", "published_at"], descending=[True, True])
        .head(limit)
        .drop("strength")
        .collect()
    )
