"""Aggregate edges into tone series: mean, count and a 95% confidence interval per period.

Pure: no I/O. Lazy frames in, one collect per result.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

GRANULARITIES = {"day": "1d", "week": "1w", "month": "1mo"}
Z_95 = 1.96


def tone_series(edges: pl.LazyFrame, *, by: Sequence[str], granularity: str = "week") -> pl.DataFrame:
    """Mean tone, statement count and normal-approximation 95% CI per period and group.

    ``edges`` needs ``published_at`` and ``score``; a single statement has no interval (null).
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    half_width = Z_95 * pl.col("score").std(ddof=1) / pl.len().sqrt()
    return (
        edges.with_columns(
            period=pl.col("published_at")
            .dt.replace_time_zone(None)
            .dt.truncate(GRANULARITIES[granularity])
            .dt.date()
        )
        .group_by(["period", *by])
        .agg(
            mean_tone=pl.col("score").mean(),
            n=pl.len().cast(pl.Int64),
            ci_low=pl.col("score").mean() - half_width,
            ci_high=pl.col("score").mean() + half_width,
        )
        .sort(["period", *by])
        .collect()
    )


def dyad_totals(edges: pl.LazyFrame) -> pl.DataFrame:
    """Mean tone and count per directed bloc pair over the whole period (the who → whom matrix)."""
    return (
        edges.group_by(["source_bloc", "target_bloc"])
        .agg(mean_tone=pl.col("score").mean(), n=pl.len().cast(pl.Int64))
        .sort(["source_bloc", "target_bloc"])
        .collect()
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
