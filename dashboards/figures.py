"""Turn aggregated tone series into Plotly figures over time. Pure: no I/O, no scoring, no store.

Every point carries, as the last item of its ``customdata``, the evidence filter a click
on it applies (see ``style.filter_spec``).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..transforms.aggregate import MIN_STATEMENTS
from .matrix import DYAD_MATRIX_TITLE, dyad_matrix_figure
from .series import count_bars, series_traces
from .style import (
    NEUTRAL_GREY,
    TEMPLATE,
    TONE_RANGE,
    ZERO_LINE,
    BlocStyle,
    base_figure,
    bloc_style,
    label,
    order_blocs,
    with_no_data,
)
from .timeline import DYAD_TIMELINE_TITLE, dyad_timeline_figure

__all__ = [
    "DYAD_MATRIX_TITLE",
    "DYAD_TIMELINE_TITLE",
    "MIN_STATEMENTS",
    "NEUTRAL_GREY",
    "BlocStyle",
    "bloc_style",
    "bloc_tone_figure",
    "dyad_matrix_figure",
    "dyad_timeline_figure",
    "order_blocs",
]

BLOC_TONE_TITLE = "How each capital is talked about"


def bloc_tone_figure(
    bloc_series: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    granularity: str = "week",
    min_statements: int = MIN_STATEMENTS,
    title: str = BLOC_TONE_TITLE,
) -> go.Figure:
    """Mean tone toward each target bloc per period with its 95% band; counts in a panel below.

    Points resting on fewer than ``min_statements`` are hollow and faded, never joined by
    lines; periods with no statement (n = 0) break the line.
    """
    if bloc_series.is_empty():
        fig = base_figure(title, x_title="Period", y_title="Mean tone toward the bloc", y_range=TONE_RANGE)
        return with_no_data(fig)
    frame = bloc_series.drop_nulls(["period", "target_bloc"]).sort("period")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26], vertical_spacing=0.05)
    for bloc_id in order_blocs(frame["target_bloc"].to_list(), blocs):
        style = bloc_style(bloc_id, blocs)
        rows = frame.filter(pl.col("target_bloc") == bloc_id)
        parts = {"target": bloc_id, "statements": 1}
        traces = series_traces(
            rows, style, name=label(style.name), group=bloc_id, granularity=granularity,
            min_statements=min_statements, parts=parts, band=True,
        )  # fmt: skip
        fig.add_traces(traces, rows=1, cols=1)
        fig.add_trace(count_bars(rows, style, granularity=granularity, parts=parts), row=2, col=1)
    fig.update_yaxes(title_text="Mean tone toward the bloc", range=TONE_RANGE, zerolinecolor=ZERO_LINE, row=1)
    fig.update_yaxes(title_text="Statements", rangemode="tozero", row=2)
    fig.update_xaxes(title_text="Period", row=2)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": label(title)},
        height=560,
        margin={"t": 70},
        hovermode="closest",
        barmode="group",
        bargap=0.15,
        legend={"title": {"text": "spoken about"}},
    )
    return fig
