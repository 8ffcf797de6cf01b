"""Find shifts in each dyad's tone: change points by binary segmentation, tested with Welch's t.

Pure: no I/O. A dyad's statements are cut only at period boundaries. In a stretch of
periods, the cut that best splits the statements into two means (the largest least-squares
gain, n1·n2/n·(mean2 − mean1)², as in ruptures' Binseg with the l2 cost) is kept as a shift
if each side holds at least ``min_side`` statements, the means differ by at least
``min_delta``, and Welch's two-sided p-value, multiplied by the number of cuts tried
(Bonferroni), is below ``alpha``; then both sides are searched again (binary segmentation,
Scott & Knott 1974, Vostrikova 1981). A shift's before and after means are those of the
final segments on either side of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from .aggregate import check_granularity, period_end, period_expr

ALPHA = 0.01
MIN_SIDE_STATEMENTS = 10
MIN_DELTA = 0.15
MAX_SHIFTS_PER_DYAD = 3
# A cut is considered when each side has a variance: two statements at least.
_MIN_CANDIDATE_SIDE = 2

SHIFT_SCHEMA = {
    "shift_id": pl.Utf8,
    "source_bloc": pl.Utf8,
    "target_bloc": pl.Utf8,
    "period": pl.Date,
    "before_start": pl.Date,
    "before_end": pl.Date,
    "after_start": pl.Date,
    "after_end": pl.Date,
    "mean_before": pl.Float64,
    "mean_after": pl.Float64,
    "delta": pl.Float64,
    "n_before": pl.Int64,
    "n_after": pl.Int64,
    "p_value": pl.Float64,
}


@dataclass(frozen=True)
class _Stats:
    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def welch_test(before: _Stats, after: _Stats) -> tuple[float, float]:
    """Welch's t statistic (after minus before) and its two-sided p-value."""
    se2_before, se2_after = before.variance / before.n, after.variance / after.n
    diff = after.mean - before.mean
    se2 = se2_before + se2_after
    if se2 == 0.0:
        return (0.0, 1.0) if diff == 0.0 else (math.copysign(math.inf, diff), 0.0)
    t = diff / math.sqrt(se2)
    denominator = 0.0
    if before.n > 1:
        denominator += se2_before**2 / (before.n - 1)
    if after.n > 1:
        denominator += se2_after**2 / (after.n - 1)
    df = se2**2 / denominator if denominator > 0 else float(before.n + after.n - 2)
    return t, student_t_two_sided(t, df)


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return _regularized_beta(df / (df + t * t), df / 2.0, 0.5)


def _regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by its continued fraction (Numerical Recipes, betai/betacf)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return result


def _segment(stats: list[_Stats], low: int, high: int) -> _Stats:
    part = stats[low:high]
    return _Stats(sum(s.n for s in part), sum(s.total for s in part), sum(s.squares for s in part))


def _find_cuts(stats: list[_Stats], low: int, high: int, *, alpha: float, min_side: int, min_delta: float):
    """Cut indexes (first period after a shift) in [low, high), with their corrected p-values."""
    best: tuple[float, int, _Stats, _Stats] | None = None
    tried = 0
    whole = _segment(stats, low, high)
    before = _Stats(0, 0.0, 0.0)
    for cut in range(low + 1, high):
        part = stats[cut - 1]
        before = _Stats(before.n + part.n, before.total + part.total, before.squares + part.squares)
        after = _Stats(whole.n - before.n, whole.total - before.total, whole.squares - before.squares)
        if before.n < _MIN_CANDIDATE_SIDE or after.n < _MIN_CANDIDATE_SIDE:
            continue
        tried += 1
        # The least-squares gain of the cut: where the two means differ most, weighted by size,
        # so a couple of odd statements at an edge cannot outbid a real change.
        gain = before.n * after.n / whole.n * (after.mean - before.mean) ** 2
        if best is None or gain > best[0]:
            best = (gain, cut, before, after)
    if best is None:
        return []
    _, cut, before, after = best
    _, p = welch_test(before, after)
    corrected = min(1.0, p * tried)
    is_shift = (
        before.n >= min_side
        and after.n >= min_side
        and abs(after.mean - before.mean) >= min_delta
        and corrected < alpha
    )
    if not is_shift:
        return []
    found = [(cut, corrected)]
    found += _find_cuts(stats, low, cut, alpha=alpha, min_side=min_side, min_delta=min_delta)
    found += _find_cuts(stats, cut, high, alpha=alpha, min_side=min_side, min_delta=min_delta)
    return found


def detect_shifts(
    edges: pl.LazyFrame,
    *,
    granularity: str = "week",
    alpha: float = ALPHA,
    min_side: int = MIN_SIDE_STATEMENTS,
    min_delta: float = MIN_DELTA,
    max_per_dyad: int = MAX_SHIFTS_PER_DYAD,
) -> pl.DataFrame:
    """Shifts in the tone of each directed pair of distinct blocs, biggest |delta| first.

    ``edges`` needs published_at, source_bloc, target_bloc and score. Columns: see
    ``SHIFT_SCHEMA``; dates are period bounds (``*_end`` is the last day, inclusive), and
    ``period`` is the first period after the shift.
    """
    sums = dyad_period_sums(edges, granularity=granularity)
    return shifts_from_sums(
        sums, granularity=granularity, alpha=alpha, min_side=min_side, min_delta=min_delta,
        max_per_dyad=max_per_dyad,
    )  # fmt: skip


def dyad_period_sums(edges: pl.LazyFrame, *, granularity: str) -> pl.DataFrame:
    """Statement count, sum and sum of squares of the score per pair of distinct blocs and
    period: source_bloc, target_bloc, period, n, total, squares (``store.ReportReader.dyad_period_sums``
    computes the same in SQL)."""
    return (
        edges.filter(pl.col("source_bloc") != pl.col("target_bloc"))
        .with_columns(period_expr(check_granularity(granularity)))
        .group_by(["source_bloc", "target_bloc", "period"])
        .agg(
            n=pl.len().cast(pl.Int64),
            total=pl.col("score").sum(),
            squares=(pl.col("score") * pl.col("score")).sum(),
        )
        .sort(["source_bloc", "target_bloc", "period"])
        .collect()
    )


def shifts_from_sums(
    sums: pl.DataFrame,
    *,
    granularity: str = "week",
    alpha: float = ALPHA,
    min_side: int = MIN_SIDE_STATEMENTS,
    min_delta: float = MIN_DELTA,
    max_per_dyad: int = MAX_SHIFTS_PER_DYAD,
) -> pl.DataFrame:
    """``detect_shifts`` from the per-period sums (``dyad_period_sums``), sorted by dyad and period."""
    check_granularity(granularity)
    rows = []
    for (source, target), group in sums.group_by(["source_bloc", "target_bloc"], maintain_order=True):
        periods = group["period"].to_list()
        stats = [_Stats(*values) for values in group.select("n", "total", "squares").iter_rows()]
        cuts = _find_cuts(stats, 0, len(stats), alpha=alpha, min_side=min_side, min_delta=min_delta)
        cuts = sorted(sorted(cuts, key=lambda item: item[1])[:max_per_dyad])
        bounds = [0, *(cut for cut, _ in cuts), len(stats)]
        for index, (cut, p_value) in enumerate(cuts, start=1):
            low, high = bounds[index - 1], bounds[index + 1]
            before, after = _segment(stats, low, cut), _segment(stats, cut, high)
            rows.append(
                {
                    "source_bloc": source,
                    "target_bloc": target,
                    "period": periods[cut],
                    "before_start": periods[low],
                    "before_end": _last_day(periods[cut - 1], granularity),
                    "after_start": periods[cut],
                    "after_end": _last_day(periods[high - 1], granularity),
                    "mean_before": before.mean,
                    "mean_after": after.mean,
                    "delta": after.mean - before.mean,
                    "n_before": before.n,
                    "n_after": after.n,
                    "p_value": p_value,
                }
            )
    rows.sort(key=lambda row: (-abs(row["delta"]), row["period"], row["source_bloc"], row["target_bloc"]))
    for number, row in enumerate(rows, start=1):
        row["shift_id"] = f"shift-{number}"
    return pl.DataFrame(rows, schema=SHIFT_SCHEMA)


def _last_day(start: date, granularity: str) -> date:
    return period_end(start, granularity) - timedelta(days=1)
