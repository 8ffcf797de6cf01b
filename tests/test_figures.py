"""Figure builders on hand-made three-row frames: traces, titles, colours, clicks; not pixels."""

from datetime import date, timedelta
from urllib.parse import parse_qs

import plotly.io as pio
import polars as pl
import pytest

from tonewatch.dashboards.coverage import actor_leaderboard_figure, outlet_framing_figure
from tonewatch.dashboards.figures import (
    MIN_STATEMENTS,
    NEUTRAL_GREY,
    BlocStyle,
    bloc_tone_figure,
    dyad_matrix_figure,
    dyad_timeline_figure,
)
from tonewatch.dashboards.style import home_style, period_text, tone_text
from tonewatch.transforms.shifts import SHIFT_SCHEMA

BLOCS = (
    BlocStyle("washington", "Washington", "#1f77b4"),
    BlocStyle("moscow", "Moscow", "#d62728"),
    BlocStyle("kyiv", "Kyiv", "#ffd500"),
)
WEEK_1, WEEK_2, WEEK_3 = date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)
SERIES_SCHEMA = {
    "period": pl.Date,
    "target_bloc": pl.Utf8,
    "mean_tone": pl.Float64,
    "n": pl.Int64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}
DYAD_SCHEMA = {"period": pl.Date, "source_bloc": pl.Utf8, **SERIES_SCHEMA}
TOTALS_SCHEMA = {"source_bloc": pl.Utf8, "target_bloc": pl.Utf8, "mean_tone": pl.Float64}


def bloc_series(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SERIES_SCHEMA, orient="row")


def dyad_series(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=DYAD_SCHEMA, orient="row")


def dyad_totals(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={**TOTALS_SCHEMA, "n": pl.Int64}, orient="row")


def click_filter(customdata) -> dict[str, str]:
    """The evidence filter a click on a point applies: the last item of its customdata."""
    spec = customdata[-1] if isinstance(customdata, list | tuple) else customdata
    return {key: values[0] for key, values in parse_qs(spec).items()}


@pytest.fixture
def tone_figure():
    frame = bloc_series(
        (WEEK_1, "moscow", -0.30, MIN_STATEMENTS, -0.50, -0.10),
        (WEEK_2, "moscow", -0.60, MIN_STATEMENTS - 1, -1.20, 0.00),
        (WEEK_1, "kyiv", 0.40, 7, 0.20, 0.60),
        (WEEK_2, "kyiv", None, 0, None, None),
        (WEEK_3, "kyiv", 0.30, 9, 0.10, 0.50),
    )
    return bloc_tone_figure(frame, BLOCS)


def traces_named(fig, name):
    return [trace for trace in fig.data if trace.name == name]


def test_bloc_tone_traces_follow_bloc_order_with_band_line_sparse_and_counts(tone_figure):
    assert [trace.name for trace in tone_figure.data] == [
        "Moscow 95% band",
        "Moscow",
        f"Moscow (n < {MIN_STATEMENTS})",
        "Moscow statements",
        "Kyiv 95% band",
        "Kyiv",
        "Kyiv statements",
    ]


def test_bloc_tone_titles_axes_and_template(tone_figure):
    layout = tone_figure.layout
    assert layout.title.text == "How each capital is talked about"
    assert layout.xaxis2.title.text == "Period"
    assert layout.yaxis.title.text == "Mean tone toward the bloc"
    assert layout.yaxis2.title.text == "Statements"
    assert tuple(layout.yaxis.range) == (-1, 1)
    assert layout.template == pio.templates["plotly_white"]


def test_bloc_tone_sparse_point_is_only_in_the_faded_trace(tone_figure):
    (line,) = traces_named(tone_figure, "Moscow")
    (sparse,) = traces_named(tone_figure, f"Moscow (n < {MIN_STATEMENTS})")
    assert list(line.x) == [WEEK_1, WEEK_2]
    assert list(line.y) == [-0.30, None]
    assert line.mode == "lines+markers" and line.connectgaps is False
    assert list(sparse.x) == [WEEK_2]
    assert list(sparse.y) == [-0.60]
    assert sparse.mode == "markers"
    assert sparse.marker.symbol == "circle-open"
    assert sparse.opacity < 1


def test_bloc_tone_breaks_the_line_at_a_period_with_no_statement(tone_figure):
    (line,) = traces_named(tone_figure, "Kyiv")
    assert list(line.y) == [0.40, None, 0.30]
    (band,) = traces_named(tone_figure, "Kyiv 95% band")
    # Two isolated points: two closed boxes, each ended by None so the fill does not bridge them.
    assert list(band.y).count(None) == 2
    assert {y for y in band.y if y is not None} == {0.20, 0.60, 0.10, 0.50}


def test_bloc_tone_band_is_a_translucent_polygon_in_the_bloc_colour():
    frame = bloc_series((WEEK_1, "kyiv", 0.4, 7, 0.2, 0.6), (WEEK_2, "kyiv", 0.5, 8, 0.3, 0.7))
    (band,) = traces_named(bloc_tone_figure(frame, BLOCS), "Kyiv 95% band")
    assert list(band.x) == [WEEK_1, WEEK_2, WEEK_2, WEEK_1, WEEK_1, None]
    assert list(band.y) == [0.6, 0.7, 0.3, 0.2, 0.6, None]
    assert band.fill == "toself"
    assert band.fillcolor.startswith("rgba(255,213,0,")
    assert not band.showlegend


def test_bloc_tone_counts_every_period_in_the_lower_panel(tone_figure):
    (bars,) = traces_named(tone_figure, "Kyiv statements")
    assert list(bars.y) == [7, 0, 9]
    assert bars.yaxis == "y2"


@pytest.mark.parametrize(("name", "color"), [("Moscow", "#d62728"), ("Kyiv", "#ffd500")])
def test_bloc_tone_colours_every_trace_of_a_bloc_alike(tone_figure, name, color):
    traces = [trace for trace in tone_figure.data if trace.name.startswith(name)]
    colours = {trace.line.color or trace.marker.color for trace in traces if trace.type == "scatter"}
    assert colours == {color}
    assert len({trace.legendgroup for trace in traces}) == 1


def test_bloc_tone_hover_shows_statement_count(tone_figure):
    (line,) = traces_named(tone_figure, "Kyiv")
    assert line.customdata[0][0] == 7
    assert "n = %{customdata[0]}" in line.hovertemplate


def test_clicking_a_tone_point_selects_its_bloc_and_week(tone_figure):
    (line,) = traces_named(tone_figure, "Kyiv")
    assert click_filter(line.customdata[2]) == {
        "target": "kyiv",
        "statements": "1",
        "since": "2025-01-20",
        "until": "2025-01-27",
        "label": "Kyiv, week of 20 Jan 2025",
    }


def test_bloc_missing_from_styles_is_grey_and_named_by_its_id():
    fig = bloc_tone_figure(bloc_series((WEEK_1, "ankara", 0.1, 8, 0.0, 0.2)), BLOCS)
    (line,) = traces_named(fig, "ankara")
    assert line.line.color == NEUTRAL_GREY


def test_bloc_names_in_figures_are_escaped_not_markup():
    blocs = (BlocStyle("moscow", "<b>Moscow</b>", "#d62728"),)
    fig = bloc_tone_figure(bloc_series((WEEK_1, "moscow", 0.1, 8, 0.0, 0.2)), blocs)
    assert traces_named(fig, "&lt;b&gt;Moscow&lt;/b&gt;")


def test_bloc_style_rejects_a_colour_that_is_not_hex():
    with pytest.raises(ValueError, match=r"BlocStyle 'moscow': color must be a hex colour"):
        BlocStyle("moscow", "Moscow", "red; background: url(x)")


@pytest.fixture
def matrix_figure():
    frame = dyad_totals(
        ("moscow", "washington", -0.4, 10),
        ("washington", "moscow", -0.2, 4),
        ("kyiv", "washington", 0.5, 6),
    )
    periods = dyad_series(
        (WEEK_1, "moscow", "washington", -0.5, 6, None, None),
        (WEEK_2, "moscow", "washington", -0.3, 4, None, None),
        (WEEK_2, "washington", "moscow", -0.2, 4, None, None),
        (WEEK_2, "kyiv", "washington", None, 0, None, None),
    )
    return dyad_matrix_figure(frame, BLOCS, period_series=periods)


def test_dyad_matrix_rows_are_speakers_columns_are_targets(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert list(heatmap.x) == ["washington", "moscow", "kyiv"]
    assert list(heatmap.y) == ["washington", "moscow", "kyiv"]
    assert [list(row) for row in heatmap.z] == [
        [None, -0.2, None],
        [-0.4, None, None],
        [0.5, None, None],
    ]
    assert matrix_figure.layout.yaxis.autorange == "reversed"
    assert matrix_figure.layout.yaxis.title.text == "Speaker bloc"
    assert matrix_figure.layout.xaxis.title.text == "Target bloc (spoken about)"


def test_dyad_matrix_cells_show_mean_and_n_starred_when_sparse_and_blank_when_empty(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert heatmap.text[1][0] == "-0.40<br>n=10"
    assert heatmap.text[0][1] == "-0.20<br>n=4*"
    assert heatmap.text[0][0] == ""
    assert heatmap.texttemplate == "%{text}"


def test_dyad_matrix_diverges_around_zero_with_bloc_names_on_axes(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert (heatmap.zmin, heatmap.zmax) == (-1, 1)
    assert matrix_figure.layout.title.text == "Who speaks of whom: mean tone, whole period"
    for axis in (matrix_figure.layout.xaxis, matrix_figure.layout.yaxis):
        assert list(axis.tickvals) == [style.bloc_id for style in BLOCS]
        for tick, style in zip(axis.ticktext, BLOCS, strict=True):
            assert style.name in tick and style.color in tick


def test_dyad_matrix_slider_steps_swap_in_each_weeks_matrix(matrix_figure):
    (slider,) = matrix_figure.layout.sliders
    assert [step.label for step in slider.steps] == ["whole period", "6 Jan 2025", "13 Jan 2025"]
    week_2 = slider.steps[2]
    assert week_2.method == "update"
    data_update, layout_update = week_2.args
    assert data_update["z"] == [[[None, -0.2, None], [-0.3, None, None], [None, None, None]]]
    assert layout_update == {"title.text": "Who speaks of whom: mean tone, week of 13 Jan 2025"}
    whole = slider.steps[0].args[0]
    assert whole["z"] == [[list(row) for row in matrix_figure.data[0].z]]


def test_clicking_a_matrix_cell_selects_its_dyad_and_the_slider_period(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert click_filter(heatmap.customdata[1][0]) == {
        "source": "moscow",
        "target": "washington",
        "statements": "1",
        "label": "Moscow → Washington, whole period",
    }
    week_1 = matrix_figure.layout.sliders[0].steps[1].args[0]["customdata"][0]
    assert click_filter(week_1[1][0])["since"] == "2025-01-06"
    assert week_1[0][0] == ""  # an empty cell selects nothing


@pytest.fixture
def timeline_figure():
    frame = dyad_series(
        (WEEK_1, "moscow", "washington", -0.4, 5, -0.6, -0.2),
        (WEEK_1, "washington", "moscow", -0.2, 4, -0.3, -0.1),
        (WEEK_2, "moscow", "kyiv", -0.7, 2, -1.5, 0.1),
    )
    return dyad_timeline_figure(frame, BLOCS)


def test_dyad_timeline_one_panel_per_pair_in_bloc_order(timeline_figure):
    titles = [annotation.text for annotation in timeline_figure.layout.annotations]
    assert titles == ["Washington ↔ Moscow", "Moscow ↔ Kyiv"]
    assert timeline_figure.layout.title.text.startswith("Tone between blocs, both directions")


def test_dyad_timeline_directions_solid_and_dashed_in_speaker_colour(timeline_figure):
    summary = [
        (trace.name, trace.mode, trace.line.dash, trace.marker.color, trace.yaxis)
        for trace in timeline_figure.data
    ]
    assert summary == [
        (f"Washington → Moscow (n < {MIN_STATEMENTS})", "markers", None, "#1f77b4", "y"),
        ("Moscow → Washington", "lines+markers", "dash", "#d62728", "y"),
        (f"Moscow → Kyiv (n < {MIN_STATEMENTS})", "markers", None, "#d62728", "y2"),
    ]


def test_dyad_timeline_leaves_out_a_bloc_talking_about_itself():
    frame = dyad_series((WEEK_1, "kyiv", "kyiv", 0.5, 9, 0.4, 0.6))
    fig = dyad_timeline_figure(frame, BLOCS)
    assert not fig.data
    assert [annotation.text for annotation in fig.layout.annotations] == ["no data"]


def shift_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "shift_id": "shift-1", "source_bloc": "moscow", "target_bloc": "washington",
                "period": WEEK_2, "before_start": WEEK_1, "before_end": WEEK_2 - timedelta(days=1),
                "after_start": WEEK_2, "after_end": WEEK_3 + timedelta(days=6), "mean_before": -0.21,
                "mean_after": 0.34, "delta": 0.55, "n_before": 20, "n_after": 23, "p_value": 0.0012,
            }
        ],
        schema=SHIFT_SCHEMA,
    )  # fmt: skip


def test_shifts_are_diamonds_sized_by_change_with_dates_and_evidence_in_the_hover():
    frame = dyad_series(
        (WEEK_1, "moscow", "washington", -0.21, 20, -0.3, -0.1),
        (WEEK_2, "moscow", "washington", 0.34, 23, 0.2, 0.4),
    )
    quote = 'He said "<script>" was <b>fine</b>'
    fig = dyad_timeline_figure(frame, BLOCS, shifts=shift_frame(), shift_quotes={"shift-1": quote})
    (marker,) = traces_named(fig, "detected shift")
    assert marker.marker.symbol == "diamond"
    assert list(marker.x) == [WEEK_2] and list(marker.y) == [0.34]
    assert marker.marker.size[0] == pytest.approx(12 + 30 * 0.55)
    hover = marker.customdata[0][0]
    assert "Moscow → Washington rose</b> week of 13 Jan 2025" in hover
    assert "−0.21 → +0.34 (change +0.55)" in hover
    assert "before: 6 Jan 2025 – 12 Jan 2025, n = 20" in hover
    assert "after: 13 Jan 2025 – 26 Jan 2025, n = 23" in hover
    assert "&lt;script&gt;" in hover and "<script>" not in hover
    assert click_filter(marker.customdata[0]) == {
        "source": "moscow",
        "target": "washington",
        "statements": "1",
        "since": "2025-01-13",
        "until": "2025-01-27",
        "label": "Moscow → Washington after the shift week of 13 Jan 2025",
    }
    (segments,) = traces_named(fig, "mean before and after a shift")
    assert list(segments.y) == [-0.21, -0.21, None, 0.34, 0.34, None]


FRAMING_SCHEMA = {"outlet_home": pl.Utf8, **{k: v for k, v in SERIES_SCHEMA.items() if k != "period"}}


def test_outlet_framing_groups_bars_by_home_in_bloc_colours_with_error_bars():
    frame = pl.DataFrame(
        [
            ("kyiv", "moscow", -0.5, 40, -0.6, -0.4),
            ("moscow", "moscow", 0.2, 30, 0.1, 0.3),
            ("other", "moscow", -0.1, 3, -0.9, 0.7),
            ("moscow", "kyiv", -0.4, 12, -0.5, -0.3),
        ],
        schema=FRAMING_SCHEMA,
        orient="row",
    )
    fig = outlet_framing_figure(frame, BLOCS)
    assert [trace.name for trace in fig.data] == ["Moscow-based", "Kyiv-based", "Other / international"]
    moscow, kyiv, other = fig.data
    assert list(moscow.x) == ["moscow", "kyiv"] and list(moscow.y) == [0.2, -0.4]
    assert moscow.marker.color == "#d62728" and other.marker.color == NEUTRAL_GREY
    assert list(kyiv.error_y.array) == [pytest.approx(0.1)]
    assert list(other.marker.pattern.shape) == ["/"]  # fewer than MIN_STATEMENTS sentences
    assert click_filter(kyiv.customdata[0]) == {
        "home": "kyiv",
        "target": "moscow",
        "label": "Kyiv-based outlets on Moscow",
    }


def test_actor_leaderboard_has_warmest_coldest_and_most_active_panels():
    targets = pl.DataFrame(
        {
            "rank_group": ["warmest", "coldest"],
            "target_actor": ["trump", "putin"],
            "target": ["Donald Trump", "Vladimir <Putin>"],
            "target_bloc": ["washington", "moscow"],
            "mean_tone": [0.4, -0.6],
            "n": [12, 30],
        }
    )
    speakers = pl.DataFrame(
        {"source_actor": ["zelensky"], "speaker": ["Volodymyr Zelensky"], "source_bloc": ["kyiv"], "n": [50]}
    ).with_columns(mean_tone=pl.lit(-0.1))
    fig = actor_leaderboard_figure(targets, speakers, BLOCS)
    warmest, coldest, active = fig.data
    assert list(warmest.y) == ["Donald Trump"] and list(warmest.marker.color) == ["#1f77b4"]
    assert list(coldest.y) == ["Vladimir &lt;Putin&gt;"]
    assert list(active.x) == [50] and list(active.marker.color) == ["#ffd500"]
    assert click_filter(coldest.customdata[0])["target_actor"] == "putin"
    assert click_filter(active.customdata[0])["speaker"] == "zelensky"


EMPTY_CASES = [
    (bloc_tone_figure, pl.DataFrame(schema=SERIES_SCHEMA)),
    (dyad_matrix_figure, pl.DataFrame(schema={**TOTALS_SCHEMA, "n": pl.Int64})),
    (dyad_timeline_figure, pl.DataFrame(schema=DYAD_SCHEMA)),
    (outlet_framing_figure, pl.DataFrame(schema=FRAMING_SCHEMA)),
    (bloc_tone_figure, pl.DataFrame()),
    (dyad_matrix_figure, pl.DataFrame()),
    (dyad_timeline_figure, pl.DataFrame()),
    (outlet_framing_figure, pl.DataFrame()),
    (lambda frame, blocs: actor_leaderboard_figure(frame, frame, blocs), pl.DataFrame()),
]


@pytest.mark.parametrize(("build", "frame"), EMPTY_CASES)
def test_empty_frame_gives_titled_figure_saying_no_data(build, frame):
    fig = build(frame, BLOCS)
    assert not fig.data
    assert [annotation.text for annotation in fig.layout.annotations] == ["no data"]
    assert fig.layout.title.text


@pytest.mark.parametrize(
    ("value", "text"), [(-0.214, "−0.21"), (0.335, "+0.34"), (-0.001, "+0.00"), (0.0, "+0.00"), (None, "n/a")]
)
def test_tone_text_uses_a_true_minus_sign(value, text):
    assert tone_text(value) == text


@pytest.mark.parametrize(
    ("granularity", "text"),
    [("day", "17 Feb 2025"), ("week", "week of 17 Feb 2025"), ("month", "Feb 2025")],
)
def test_period_text(granularity, text):
    assert period_text(date(2025, 2, 17), granularity) == text


def test_outlet_home_names_and_colours():
    assert home_style("moscow", BLOCS) == BlocStyle("moscow", "Moscow-based", "#d62728")
    assert home_style("other", BLOCS).name == "Other / international"
    assert home_style("ankara", BLOCS) == BlocStyle("ankara", "ankara-based", NEUTRAL_GREY)
