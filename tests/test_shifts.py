"""Change points in a dyad's tone, the t-test behind them, and the evidence chosen for them."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from tonewatch.transforms.evidence import select_evidence, shift_evidence
from tonewatch.transforms.shifts import SHIFT_SCHEMA, _Stats, detect_shifts, student_t_two_sided, welch_test


def statements(weeks: list[list[float]], *, source="moscow", target="washington", first="2025-01-06"):
    """One row per score; ``weeks[i]`` holds the scores of the i-th week from ``first``."""
    monday = datetime.fromisoformat(first).replace(hour=9, tzinfo=UTC)
    rows = []
    for week, scores in enumerate(weeks):
        for i, score in enumerate(scores):
            when = monday + timedelta(weeks=week, days=i % 7, hours=i)
            rows.append((when, source, target, score, f"a{week}-{i}", 0, "peskov", "trump", f"s{week}-{i}"))
    schema = {
        "published_at": pl.Datetime("us", "UTC"),
        "source_bloc": pl.Utf8,
        "target_bloc": pl.Utf8,
        "score": pl.Float64,
        "article_id": pl.Utf8,
        "sentence_idx": pl.Int32,
        "source_actor": pl.Utf8,
        "target_actor": pl.Utf8,
        "sentence": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


COLD = [-0.41, -0.01, -0.21, -0.31, -0.11]  # mean −0.21
WARM = [0.14, 0.54, 0.34]  # mean +0.34


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [
        (2.228, 10, 0.05),  # the t table: 97.5th percentile for 10 df
        (12.706, 1, 0.05),
        (1.96, 1e6, 0.05),
        (0.0, 5, 1.0),
        (3.0, 4.5, 0.0343809),  # scipy.stats.t.sf(3.0, 4.5) * 2
    ],
)
def test_student_t_two_sided_p_values(t, df, p):
    assert student_t_two_sided(t, df) == pytest.approx(p, abs=2e-5)


def test_welch_test_matches_the_textbook_formula():
    # Before: 1, 2, 3 (mean 2, var 1); after: 4, 6 (mean 5, var 2). t = 3 / √(1/3 + 2/2) = 2.598…
    before, after = _Stats(3, 6.0, 14.0), _Stats(2, 10.0, 52.0)
    t, p = welch_test(before, after)
    assert t == pytest.approx(3 / (1 / 3 + 1) ** 0.5)
    # Welch–Satterthwaite df = (4/3)² / ((1/3)²/2 + 1²/1) = 1.6842…
    assert p == pytest.approx(student_t_two_sided(t, (4 / 3) ** 2 / ((1 / 3) ** 2 / 2 + 1)))


def test_a_clear_rise_is_found_at_the_right_week_with_segment_means():
    frame = statements([COLD * 1] * 4 + [WARM * 2] * 3)
    shifts = detect_shifts(frame.lazy(), granularity="week")
    assert shifts.height == 1
    shift = shifts.row(0, named=True)
    assert (shift["source_bloc"], shift["target_bloc"]) == ("moscow", "washington")
    assert shift["period"] == date(2025, 2, 3)
    assert (shift["before_start"], shift["before_end"]) == (date(2025, 1, 6), date(2025, 2, 2))
    assert (shift["after_start"], shift["after_end"]) == (date(2025, 2, 3), date(2025, 2, 23))
    assert shift["mean_before"] == pytest.approx(-0.21)
    assert shift["mean_after"] == pytest.approx(0.34)
    assert shift["delta"] == pytest.approx(0.55)
    assert (shift["n_before"], shift["n_after"]) == (20, 18)
    assert shift["p_value"] < 0.01
    assert shift["shift_id"] == "shift-1"


def test_noise_around_a_steady_tone_is_not_a_shift():
    frame = statements([COLD * 2] * 10)
    assert detect_shifts(frame.lazy(), granularity="week").is_empty()


def test_a_change_resting_on_too_few_statements_is_not_a_shift():
    # Nine statements after the change: fewer than the ten each side needs.
    frame = statements([COLD * 2] * 4 + [[0.9] * 9])
    assert detect_shifts(frame.lazy(), granularity="week").is_empty()


def test_two_odd_statements_at_the_start_do_not_hide_a_real_change():
    frame = statements([[0.9, 0.9]] + [COLD * 2] * 6 + [WARM * 4] * 6)
    shifts = detect_shifts(frame.lazy(), granularity="week")
    assert shifts["period"].to_list() == [date(2025, 2, 24)]


def test_a_significant_but_tiny_change_is_not_a_shift():
    frame = statements([[0.0, 0.02] * 50] * 3 + [[0.1, 0.12] * 50] * 3)
    assert detect_shifts(frame.lazy(), granularity="week", min_delta=0.15).is_empty()
    assert detect_shifts(frame.lazy(), granularity="week", min_delta=0.05).height == 1


def test_rise_then_fall_gives_two_shifts_biggest_first():
    frame = statements([COLD * 2] * 4 + [WARM * 4] * 3 + [[-0.8, -0.6] * 6] * 4)
    shifts = detect_shifts(frame.lazy(), granularity="week")
    assert shifts["period"].to_list() == [date(2025, 2, 24), date(2025, 2, 3)]
    assert shifts["delta"].to_list() == [pytest.approx(-1.04), pytest.approx(0.55)]
    # Each shift compares the segments either side of it, not the whole series.
    assert shifts["mean_before"].to_list() == [pytest.approx(0.34), pytest.approx(-0.21)]


def test_a_bloc_talking_about_itself_has_no_shift():
    frame = statements([COLD * 2] * 4 + [WARM * 4] * 3, target="moscow")
    shifts = detect_shifts(frame.lazy(), granularity="week")
    assert shifts.is_empty()
    assert shifts.schema == pl.Schema(SHIFT_SCHEMA)


def test_shift_evidence_shows_the_new_tone_after_and_the_old_before():
    frame = statements([COLD * 2] * 4 + [WARM * 2] * 3)
    shifts = detect_shifts(frame.lazy(), granularity="week")
    evidence = shift_evidence(frame.lazy(), shifts, granularity="week", after=3, before=1)
    after = evidence.filter(pl.col("role") == "after")
    before = evidence.filter(pl.col("role") == "before")
    assert after["score"].to_list() == [0.54, 0.54, 0.54]
    assert after["published_at"].min().date() >= date(2025, 2, 3)
    assert before["score"].to_list() == [-0.41]
    assert before["published_at"].max().date() < date(2025, 2, 3)


def test_evidence_serves_every_cell_before_any_gets_a_second_row():
    frame = pl.DataFrame(
        {
            "published_at": [datetime(2025, 1, d, tzinfo=UTC) for d in (6, 7, 8, 9, 10)],
            "cell": ["a", "a", "a", "b", "c"],
            "score": [-0.9, 0.8, 0.1, 0.2, -0.05],
            "article_id": ["1", "2", "3", "4", "5"],
            "sentence_idx": [0] * 5,
            "source_actor": ["x"] * 5,
            "target_actor": ["y"] * 5,
        }
    )
    chosen = select_evidence(frame.lazy(), cells=[["cell"]], per_cell=2, limit=4)
    # Strongest of a, b and c first, then a's second; the limit leaves out a's third.
    assert chosen["article_id"].to_list() == ["1", "2", "4", "5"]


def test_evidence_needs_a_grouping():
    with pytest.raises(ValueError, match="needs at least one grouping"):
        select_evidence(pl.LazyFrame(), cells=[])
