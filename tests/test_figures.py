"""Figure builders on hand-made three-row frames: traces, titles, colours, not pixels."""

from datetime import date

import plotly.io as pio
import polars as pl
import pytest

from tonewatch.dashboards.figures import (
    MIN_STATEMENTS,
    NEUTRAL_GREY,
    BlocStyle,
    bloc_tone_figure,
    dyad_matrix_figure,
    dyad_timeline_figure,
)

BLOCS = (
    BlocStyle("washington", "Washington", "#1f77b4"),
    BlocStyle("moscow", "Moscow", "#d62728"),
    BlocStyle("kyiv", "Kyiv", "#ffd500"),
)
WEEK_1, WEEK_2 = date(2025, 1, 6), date(2025, 1, 13)
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


@pytest.fixture
def tone_figure():
    frame = bloc_series(
        (WEEK_1, "moscow", -0.30, 5, -0.50, -0.10),
        (WEEK_2, "moscow", -0.60, MIN_STATEMENTS - 1, -1.20, 0.00),
        (WEEK_1, "kyiv", 0.40, 7, 0.20, 0.60),
    )
    return bloc_tone_figure(frame, BLOCS)


def traces_named(fig, name):
    return [trace for trace in fig.data if trace.name == name]


def test_bloc_tone_traces_follow_bloc_order_with_band_line_and_sparse(tone_figure):
    assert [trace.name for trace in tone_figure.data] == [
        "Moscow 95% band",
        "Moscow 95% band",
        "Moscow",
        f"Moscow (n < {MIN_STATEMENTS})",
        "Kyiv 95% band",
        "Kyiv 95% band",
        "Kyiv",
    ]


def test_bloc_tone_titles_axes_and_template(tone_figure):
    layout = tone_figure.layout
    assert layout.title.text == "How each capital is talked about"
    assert layout.xaxis.title.text == "Period"
    assert layout.yaxis.title.text == "Mean tone toward the bloc"
    assert tuple(layout.yaxis.range) == (-1, 1)
    assert layout.template == pio.templates["plotly_white"]


def test_bloc_tone_sparse_point_is_only_in_the_faded_trace(tone_figure):
    (line,) = traces_named(tone_figure, "Moscow")
    (sparse,) = traces_named(tone_figure, f"Moscow (n < {MIN_STATEMENTS})")
    assert list(line.x) == [WEEK_1]
    assert line.mode == "lines+markers"
    assert list(sparse.x) == [WEEK_2]
    assert list(sparse.y) == [-0.60]
    assert sparse.mode == "markers"
    assert sparse.marker.symbol == "circle-open"
    assert sparse.opacity < 1


def test_bloc_tone_band_spans_the_interval_in_translucent_bloc_colour(tone_figure):
    upper, lower = traces_named(tone_figure, "Kyiv 95% band")
    assert list(upper.y) == [0.60]
    assert list(lower.y) == [0.20]
    assert lower.fill == "tonexty"
    assert lower.fillcolor.startswith("rgba(255,213,0,")
    assert not upper.showlegend and not lower.showlegend


@pytest.mark.parametrize(("name", "color"), [("Moscow", "#d62728"), ("Kyiv", "#ffd500")])
def test_bloc_tone_colours_every_trace_of_a_bloc_alike(tone_figure, name, color):
    traces = [trace for trace in tone_figure.data if trace.name.startswith(name)]
    assert {trace.marker.color or trace.line.color for trace in traces} == {color}
    assert len({trace.legendgroup for trace in traces}) == 1


def test_bloc_tone_hover_shows_statement_count(tone_figure):
    (line,) = traces_named(tone_figure, "Kyiv")
    assert line.customdata[0][0] == 7
    assert "n = %{customdata[0]}" in line.hovertemplate


def test_bloc_missing_from_styles_is_grey_and_named_by_its_id():
    fig = bloc_tone_figure(bloc_series((WEEK_1, "ankara", 0.1, 4, 0.0, 0.2)), BLOCS)
    (line,) = traces_named(fig, "ankara")
    assert line.line.color == NEUTRAL_GREY


def test_bloc_names_in_figures_are_escaped_not_markup():
    blocs = (BlocStyle("moscow", "<b>Moscow</b>", "#d62728"),)
    fig = bloc_tone_figure(bloc_series((WEEK_1, "moscow", 0.1, 4, 0.0, 0.2)), blocs)
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
    return dyad_matrix_figure(frame, BLOCS)


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


def test_dyad_matrix_cells_show_mean_and_n_and_blank_when_empty(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert heatmap.text[1][0] == "-0.40<br>n=10"
    assert heatmap.text[0][0] == ""
    assert heatmap.texttemplate == "%{text}"


def test_dyad_matrix_diverges_around_zero_with_bloc_names_on_axes(matrix_figure):
    (heatmap,) = matrix_figure.data
    assert (heatmap.zmin, heatmap.zmax) == (-1, 1)
    assert matrix_figure.layout.title.text
    for axis in (matrix_figure.layout.xaxis, matrix_figure.layout.yaxis):
        assert list(axis.tickvals) == [style.bloc_id for style in BLOCS]
        for tick, style in zip(axis.ticktext, BLOCS, strict=True):
            assert style.name in tick and style.color in tick


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
    assert timeline_figure.layout.title.text == "Tone between blocs, both directions"


def test_dyad_timeline_directions_solid_and_dashed_in_speaker_colour(timeline_figure):
    summary = [
        (trace.name, trace.mode, trace.line.dash, trace.marker.color, trace.yaxis)
        for trace in timeline_figure.data
    ]
    assert summary == [
        ("Washington → Moscow", "lines+markers", "solid", "#1f77b4", "y"),
        ("Moscow → Washington", "lines+markers", "dash", "#d62728", "y"),
        (f"Moscow → Kyiv (n < {MIN_STATEMENTS})", "markers", None, "#d62728", "y2"),
    ]


def test_dyad_timeline_leaves_out_a_bloc_talking_about_itself():
    frame = dyad_series((WEEK_1, "kyiv", "kyiv", 0.5, 9, 0.4, 0.6))
    fig = dyad_timeline_figure(frame, BLOCS)
    assert not fig.data
    assert [annotation.text for annotation in fig.layout.annotations] == ["no data"]


EMPTY_CASES = [
    (bloc_tone_figure, pl.DataFrame(schema=SERIES_SCHEMA)),
    (dyad_matrix_figure, pl.DataFrame(schema={**TOTALS_SCHEMA, "n": pl.Int64})),
    (dyad_timeline_figure, pl.DataFrame(schema=DYAD_SCHEMA)),
    (bloc_tone_figure, pl.DataFrame()),
    (dyad_matrix_figure, pl.DataFrame()),
    (dyad_timeline_figure, pl.DataFrame()),
]


@pytest.mark.parametrize(("build", "frame"), EMPTY_CASES)
def test_empty_frame_gives_titled_figure_saying_no_data(build, frame):
    fig = build(frame, BLOCS)
    assert not fig.data
    assert [annotation.text for annotation in fig.layout.annotations] == ["no data"]
    assert fig.layout.title.text
