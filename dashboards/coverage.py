"""Who frames whom: tone by outlet home and the actor leaderboard. Pure: no I/O, no store."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..transforms.aggregate import MIN_STATEMENTS
from .style import (
    TEMPLATE,
    TONE_RANGE,
    ZERO_LINE,
    BlocStyle,
    base_figure,
    bloc_style,
    coloured_label,
    filter_spec,
    home_style,
    label,
    order_blocs,
    with_no_data,
)

OUTLET_FRAMING_TITLE = "Outlet framing: tone toward each bloc, by where the outlet is based"
LEADERBOARD_TITLE = "Actor leaderboard for the period"
SPARSE_PATTERN = "/"


def outlet_framing_figure(
    framing: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    min_statements: int = MIN_STATEMENTS,
    title: str = OUTLET_FRAMING_TITLE,
) -> go.Figure:
    """Grouped bars: for each target bloc, the mean tone of each outlet home's sentences, ±95%.

    ``framing``: outlet_home, target_bloc, mean_tone, n, ci_low, ci_high. Bars resting on
    fewer than ``min_statements`` sentences are hatched and faded.
    """
    fig = base_figure(title, x_title="Bloc spoken about", y_title="Mean tone", y_range=TONE_RANGE)
    if framing.is_empty():
        return with_no_data(fig)
    frame = framing.drop_nulls(["outlet_home", "target_bloc", "mean_tone"])
    targets = order_blocs(frame["target_bloc"].to_list(), blocs)
    for home in order_blocs(frame["outlet_home"].to_list(), blocs):
        style = home_style(home, blocs)
        rows = {
            row["target_bloc"]: row
            for row in frame.filter(pl.col("outlet_home") == home).iter_rows(named=True)
        }
        present = [t for t in targets if t in rows]
        points = [rows[t] for t in present]
        is_sparse = [(row["n"] or 0) < min_statements for row in points]
        target_names = [label(bloc_style(t, blocs).name) for t in present]
        fig.add_trace(
            go.Bar(
                x=present,
                y=[row["mean_tone"] for row in points],
                name=label(style.name),
                marker={
                    "color": style.color,
                    "opacity": [0.45 if sparse else 0.9 for sparse in is_sparse],
                    "pattern": {"shape": [SPARSE_PATTERN if sparse else "" for sparse in is_sparse]},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [_above(row) for row in points],
                    "arrayminus": [_below(row) for row in points],
                    "color": "#444444",
                    "thickness": 1,
                },
                customdata=[
                    [
                        row["n"],
                        f"{label(style.name)} outlets on {name}",
                        filter_spec(label_text=f"{label(style.name)} outlets on {name}", home=home, target=t),
                    ]
                    for row, name, t in zip(points, target_names, present, strict=True)
                ],  # fmt: skip
                hovertemplate=(
                    "<b>%{customdata[1]}</b><br>mean tone %{y:+.2f}<br>n = %{customdata[0]} sentences"
                    "<br><i>click: show the evidence</i><extra></extra>"
                ),
            )
        )
    ticks = [coloured_label(bloc_style(t, blocs)) for t in targets]
    fig.update_xaxes(type="category", tickmode="array", tickvals=targets, ticktext=ticks)
    fig.update_layout(barmode="group", legend={"title": {"text": "outlets based in"}}, height=460)
    return fig


def _above(row: dict) -> float:
    return 0.0 if row["ci_high"] is None else row["ci_high"] - row["mean_tone"]


def _below(row: dict) -> float:
    return 0.0 if row["ci_low"] is None else row["mean_tone"] - row["ci_low"]


def actor_leaderboard_figure(
    targets: pl.DataFrame,
    speakers: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    min_statements: int = MIN_STATEMENTS,
    title: str = LEADERBOARD_TITLE,
) -> go.Figure:
    """Three panels: most positive and most negative targets (mean tone), most active speakers.

    ``targets``: rank_group, target_actor, target, target_bloc, mean_tone, n (only targets
    with at least ``min_statements``); ``speakers``: source_actor, speaker, source_bloc, n,
    mean_tone. Bars take their bloc's colour.
    """
    if targets.is_empty() and speakers.is_empty():
        return with_no_data(base_figure(title, x_title="", y_title=""))
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.16,
        subplot_titles=[
            f"Most positive targets (n ≥ {min_statements})",
            f"Most negative targets (n ≥ {min_statements})",
            "Most active speakers",
        ],
    )
    for col, group in ((1, "warmest"), (2, "coldest")):
        rows = targets.filter(pl.col("rank_group") == group) if not targets.is_empty() else targets
        fig.add_trace(
            _actor_bars(
                rows, blocs, actor="target_actor", name="target", bloc="target_bloc", value="mean_tone",
                hover="mean tone %{x:+.2f}<br>n = %{customdata[1]} statements about them",
                filter_key="target_actor", verb="about",
            ),
            row=1, col=col,
        )  # fmt: skip
        fig.update_xaxes(range=TONE_RANGE, zeroline=True, zerolinecolor=ZERO_LINE, row=1, col=col)
    fig.add_trace(
        _actor_bars(
            speakers, blocs, actor="source_actor", name="speaker", bloc="source_bloc", value="n",
            hover="%{x} statements<br>their mean tone %{customdata[2]:+.2f}",
            filter_key="speaker", verb="by",
        ),
        row=1, col=3,
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="Mean tone", row=1, col=1)
    fig.update_xaxes(title_text="Mean tone", row=1, col=2)
    fig.update_xaxes(title_text="Statements", rangemode="tozero", row=1, col=3)
    rows = max(targets.height, speakers.height, 1)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": label(title)},
        showlegend=False,
        height=max(380, 160 + 28 * rows),
        margin={"t": 90},
        hovermode="closest",
    )
    return fig


def _actor_bars(
    rows: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    actor: str,
    name: str,
    bloc: str,
    value: str,
    hover: str,
    filter_key: str,
    verb: str,
) -> go.Bar:
    if rows.is_empty():
        return go.Bar(x=[], y=[], orientation="h")
    styles = [bloc_style(b, blocs) for b in rows[bloc].to_list()]
    names = [label(n) for n in rows[name].to_list()]
    customdata = [
        [f"{n} ({label(s.name)})", row["n"], row["mean_tone"],
         filter_spec(label_text=f"statements {verb} {n}", **{filter_key: row[actor]})]
        for n, s, row in zip(names, styles, rows.iter_rows(named=True), strict=True)
    ]  # fmt: skip
    return go.Bar(
        x=rows[value].to_list(),
        # Two actors may share a display name; the id keeps their bars apart.
        y=[
            f"{n} ({row[actor]})" if names.count(n) > 1 else n
            for n, row in zip(names, rows.iter_rows(named=True), strict=True)
        ],
        orientation="h",
        marker={"color": [s.color for s in styles]},
        text=[f"n={n}" for n in rows["n"].to_list()],
        textposition="outside",
        cliponaxis=False,
        customdata=customdata,
        hovertemplate=(
            f"<b>%{{customdata[0]}}</b><br>{hover}<br><i>click: show the evidence</i><extra></extra>"
        ),
    )
