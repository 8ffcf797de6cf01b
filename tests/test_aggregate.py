"""Aggregation against hand-computed values: means, counts, 95% intervals, periods, duplicates."""

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tonewatch.transforms.aggregate import (
    check_granularity,
    choose_granularity,
    coarser_granularity,
    dyad_totals,
    period_end,
    period_start,
    select_statements,
    select_target_tones,
    speaker_leaderboard,
    target_leaderboard,
    tone_series,
    tone_totals,
)

MON_6_JAN, MON_13_JAN, MON_20_JAN = date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)
SERIES_SCHEMA = {
    "period": pl.Date,
    "target_bloc": pl.Utf8,
    "mean_tone": pl.Float64,
    "n": pl.Int64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def edges(*rows: tuple) -> pl.LazyFrame:
    """(published_at, source_bloc, target_bloc, score[, article_id, dup_of, source_actor, target_actor])."""
    schema = {
        "published_at": pl.Datetime("us", "UTC"),
        "source_bloc": pl.Utf8,
        "target_bloc": pl.Utf8,
        "score": pl.Float64,
        "article_id": pl.Utf8,
        "dup_of": pl.Utf8,
        "source_actor": pl.Utf8,
        "target_actor": pl.Utf8,
    }
    full = [(*row, *([None] * (len(schema) - len(row)))) for row in rows]
    return pl.DataFrame(full, schema=schema, orient="row").lazy()


def expected(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SERIES_SCHEMA, orient="row")


def test_weekly_mean_and_interval_match_hand_computation():
    # Week of 6 Jan: 0.1, 0.3, 0.5 → mean 0.3, sd 0.2, half-width 1.96·0.2/√3 = 0.2263206…
    # Week of 13 Jan: −0.4, −0.2 → mean −0.3, sd 0.141421…, half-width 1.96·0.141421/√2 = 0.196
    frame = edges(
        (at("2025-01-06"), "moscow", "washington", 0.1),
        (at("2025-01-08"), "moscow", "washington", 0.3),
        (at("2025-01-12", 23), "moscow", "washington", 0.5),
        (at("2025-01-13", 0), "moscow", "washington", -0.4),
        (at("2025-01-19"), "moscow", "washington", -0.2),
    )
    result = tone_series(frame, by=["target_bloc"], granularity="week")
    assert_frame_equal(
        result,
        expected(
            (MON_6_JAN, "washington", 0.3, 3, 0.3 - 0.2263206, 0.3 + 0.2263206),
            (MON_13_JAN, "washington", -0.3, 2, -0.3 - 0.196, -0.3 + 0.196),
        ),
        abs_tol=1e-6,
    )


def test_period_is_the_utc_day_whatever_the_offset_of_the_timestamp():
    # Sunday 23:30 in New York is Monday 04:30 UTC: the week of 13 Jan, not of 6 Jan.
    new_york = timezone(timedelta(hours=-5))
    frame = pl.DataFrame(
        {
            "published_at": [datetime(2025, 1, 12, 23, 30, tzinfo=new_york)],
            "target_bloc": ["kyiv"],
            "score": [0.5],
        }
    ).lazy()
    result = tone_series(frame, by=["target_bloc"], granularity="week")
    assert result["period"].to_list() == [MON_13_JAN]


def test_a_single_statement_has_a_mean_but_no_interval():
    result = tone_series(edges((at("2025-01-07"), "kyiv", "moscow", -0.7)), by=["target_bloc"])
    assert_frame_equal(result, expected((MON_6_JAN, "moscow", -0.7, 1, None, None)))


def test_identical_scores_have_a_zero_width_interval():
    frame = edges((at("2025-01-07"), "kyiv", "moscow", 0.2), (at("2025-01-08"), "kyiv", "moscow", 0.2))
    result = tone_series(frame, by=["target_bloc"])
    assert_frame_equal(result, expected((MON_6_JAN, "moscow", 0.2, 2, 0.2, 0.2)), abs_tol=1e-12)


def test_empty_periods_are_filled_with_zero_counts_and_null_tone():
    frame = edges(
        (at("2025-01-07"), "kyiv", "moscow", 0.2),
        (at("2025-01-21"), "kyiv", "moscow", 0.4),
        (at("2025-01-22"), "kyiv", "washington", 0.6),
    )
    result = tone_series(frame, by=["target_bloc"], granularity="week", fill_empty=True)
    assert_frame_equal(
        result,
        expected(
            (MON_6_JAN, "moscow", 0.2, 1, None, None),
            (MON_6_JAN, "washington", None, 0, None, None),
            (MON_13_JAN, "moscow", None, 0, None, None),
            (MON_13_JAN, "washington", None, 0, None, None),
            (MON_20_JAN, "moscow", 0.4, 1, None, None),
            (MON_20_JAN, "washington", 0.6, 1, None, None),
        ),
    )


def test_no_statements_give_an_empty_series_even_when_filling_periods():
    result = tone_series(edges(), by=["target_bloc"], fill_empty=True)
    assert result.is_empty()
    assert result.columns == list(SERIES_SCHEMA)


@pytest.mark.parametrize(
    ("granularity", "periods"),
    [
        ("day", [date(2025, 1, 31), date(2025, 2, 1)]),
        ("week", [date(2025, 1, 27)]),
        ("month", [date(2025, 1, 1), date(2025, 2, 1)]),
    ],
)
def test_granularity_sets_the_period(granularity, periods):
    frame = edges((at("2025-01-31"), "kyiv", "moscow", 0.2), (at("2025-02-01"), "kyiv", "moscow", 0.4))
    assert tone_series(frame, by=["target_bloc"], granularity=granularity)["period"].to_list() == periods


def test_unknown_granularity_is_named():
    with pytest.raises(ValueError, match="granularity must be one of day, week, month, got 'fortnight'"):
        tone_series(edges(), by=["target_bloc"], granularity="fortnight")
    with pytest.raises(ValueError, match="got 'year'"):
        check_granularity("year")


def test_duplicates_are_counted_once_unless_asked():
    # The same wire story in two outlets: the copy points at the first with dup_of.
    frame = edges(
        (at("2025-01-07"), "moscow", "kyiv", -0.6, "a1", None),
        (at("2025-01-07"), "moscow", "kyiv", -0.6, "a2", "a1"),
        (at("2025-01-08"), "moscow", "kyiv", 0.0, "a3", None),
    )
    once = tone_series(select_statements(frame), by=["target_bloc"])
    assert_frame_equal(
        once,
        expected((MON_6_JAN, "kyiv", -0.3, 2, -0.3 - 1.96 * 0.3, -0.3 + 1.96 * 0.3)),
        abs_tol=1e-9,
    )
    every = tone_series(select_statements(frame, count_duplicates=True), by=["target_bloc"])
    assert every["n"].to_list() == [3]
    assert every["mean_tone"].to_list() == [pytest.approx(-0.4)]


def test_bloc_and_actor_selection():
    frame = edges(
        (at("2025-01-07"), "moscow", "washington", 0.1, "a1", None, "putin", "trump"),
        (at("2025-01-07"), "moscow", "kyiv", -0.5, "a2", None, "putin", "zelensky"),
        (at("2025-01-07"), "kyiv", "washington", 0.5, "a3", None, "zelensky", "trump"),
    )
    between = select_statements(frame, blocs=["moscow", "washington"]).collect()
    assert between["article_id"].to_list() == ["a1"]
    about_zelensky = select_statements(frame, actors=["zelensky"]).collect()
    assert about_zelensky["article_id"].to_list() == ["a2", "a3"]


def test_a_target_named_twice_in_a_sentence_is_one_tone():
    tones = pl.DataFrame(
        {
            "article_id": ["a1", "a1", "a1"],
            "sentence_idx": [0, 0, 1],
            "target_actor": ["putin", "putin", "putin"],
            "target_bloc": ["moscow"] * 3,
            "source_actor": [None] * 3,
            "dup_of": [None] * 3,
            "score": [-0.5, -0.5, 0.1],
        },
        schema_overrides={"source_actor": pl.Utf8, "dup_of": pl.Utf8},
    ).lazy()
    assert select_target_tones(tones).collect()["score"].to_list() == [-0.5, 0.1]


def test_dyad_totals_over_the_whole_period():
    frame = edges(
        (at("2025-01-07"), "moscow", "kyiv", -0.2),
        (at("2025-03-07"), "moscow", "kyiv", -0.4),
        (at("2025-01-07"), "kyiv", "moscow", 0.5),
    )
    result = dyad_totals(frame).select("source_bloc", "target_bloc", "mean_tone", "n")
    assert_frame_equal(
        result,
        pl.DataFrame(
            [("kyiv", "moscow", 0.5, 1), ("moscow", "kyiv", -0.3, 2)],
            schema={"source_bloc": pl.Utf8, "target_bloc": pl.Utf8, "mean_tone": pl.Float64, "n": pl.Int64},
            orient="row",
        ),
    )


def test_outlet_framing_totals_group_by_home_and_target():
    tones = pl.DataFrame(
        {"outlet_home": ["kyiv", "kyiv", "moscow"], "target_bloc": ["moscow"] * 3, "score": [-0.6, -0.2, 0.3]}
    ).lazy()
    result = tone_totals(tones, by=["outlet_home", "target_bloc"])
    assert result.select("outlet_home", "mean_tone", "n").rows() == [
        ("kyiv", pytest.approx(-0.4), 2),
        ("moscow", 0.3, 1),
    ]


def leaderboard_edges() -> pl.LazyFrame:
    rows = []
    for target, score, count in (
        ("trump", 0.4, 5),
        ("putin", -0.6, 6),
        ("zelensky", 0.1, 5),
        ("macron", 0.9, 2),
    ):
        for i in range(count):
            rows.append(("peskov" if i % 2 else "rubio", target, score))
    return pl.DataFrame(
        {
            "source_actor": [r[0] for r in rows],
            "speaker": [r[0].title() for r in rows],
            "source_bloc": ["moscow" if r[0] == "peskov" else "washington" for r in rows],
            "target_actor": [r[1] for r in rows],
            "target": [r[1].title() for r in rows],
            "target_bloc": ["x"] * len(rows),
            "score": [r[2] for r in rows],
        }
    ).lazy()


def test_target_leaderboard_ranks_only_targets_with_enough_statements():
    result = target_leaderboard(leaderboard_edges(), min_statements=5, limit=2)
    assert result.select("rank_group", "target_actor", "n").rows() == [
        ("warmest", "trump", 5),
        ("warmest", "zelensky", 5),
        ("coldest", "putin", 6),
    ]


def test_a_target_spoken_of_coldly_is_never_among_the_warmest():
    cold = leaderboard_edges().filter(pl.col("target_actor") == "putin")
    result = target_leaderboard(cold, min_statements=5, limit=8)
    assert result.select("rank_group", "target_actor").rows() == [("coldest", "putin")]


def test_speaker_leaderboard_counts_statements():
    result = speaker_leaderboard(leaderboard_edges(), limit=5)
    assert result.select("source_actor", "n").rows() == [("rubio", 10), ("peskov", 8)]


@pytest.mark.parametrize(
    ("start", "end", "granularity"),
    [
        (date(2025, 1, 1), date(2025, 2, 10), "day"),
        (date(2025, 1, 1), date(2025, 9, 1), "week"),
        (date(2022, 2, 24), date(2025, 12, 3), "month"),
        (None, None, "week"),
    ],
)
def test_auto_granularity_follows_the_span(start, end, granularity):
    assert choose_granularity(start, end) == granularity


@pytest.mark.parametrize(
    ("day", "granularity", "start", "end"),
    [
        (date(2025, 2, 19), "day", date(2025, 2, 19), date(2025, 2, 20)),
        (date(2025, 2, 19), "week", date(2025, 2, 17), date(2025, 2, 24)),
        (date(2025, 12, 19), "month", date(2025, 12, 1), date(2026, 1, 1)),
    ],
)
def test_period_bounds(day, granularity, start, end):
    assert period_start(day, granularity) == start
    assert period_end(start, granularity) == end


def test_coarser_granularity_steps_up_to_month():
    assert [coarser_granularity(g) for g in ("day", "week", "month")] == ["week", "month", None]
