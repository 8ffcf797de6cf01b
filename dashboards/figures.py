"""Turn aggregated tone series into Plotly figures over time. Pure: no I/O, no scoring, no store.

Every point carries, as the last item of its ``customdata``, the evidence filter a click
on it applies (see ``style.filter_spec``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from itertools import combinations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..transforms.aggregate import MIN_STATEMENTS
from .matrix import DYAD_MATRIX_TITLE, dyad_matrix_figure
from .style import (
    NEUTRAL_GREY,
    TEMPLATE,
    TONE_RANGE,
    ZERO_LINE,
    BlocStyle,
    base_figure,
    bloc_style,
    day_text,
    filter_spec,
    label,
    order_blocs,
    p_text,
    period_filter,
    period_text,
    tone_text,
    translucent,
    with_no_data,
)

__all__ = [
    "DYAD_MATRIX_TITLE",
    "MIN_STATEMENTS",
    "NEUTRAL_GREY",
    "BlocStyle",
    "bloc_style",
    "bloc_tone_figure",
    "dyad_matrix_figure",
    "dyad_timeline_figure",
    "order_blocs",
]

BAND_ALPHA = 0.18
SPARSE_OPACITY = 0.5
BLOC_TONE_TITLE = "How each capital is talked about"
DYAD_TIMELINE_TITLE = "Tone between blocs, both directions, with detected shifts"
# Half the width of the box drawn as the band of a point with no confident neighbour.
_ISOLATED_HALF_WIDTH = {"day": timedelta(hours=8), "week": timedelta(days=2), "month": timedelta(days=9)}


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
        traces = _series_traces(
            rows, style, name=label(style.name), group=bloc_id, granularity=granularity,
            min_statements=min_statements, parts=parts, band=True,
        )  # fmt: skip
        fig.add_traces(traces, rows=1, cols=1)
        fig.add_trace(_count_bars(rows, style, granularity=granularity, parts=parts), row=2, col=1)
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


def dyad_timeline_figure(
    dyad_series: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    shifts: pl.DataFrame | None = None,
    shift_quotes: Mapping[str, str] | None = None,
    granularity: str = "week",
    min_statements: int = MIN_STATEMENTS,
    title: str = DYAD_TIMELINE_TITLE,
) -> go.Figure:
    """One panel per pair of blocs: A→B solid, B→A dashed, each line in its speaker's colour.

    Detected shifts are diamonds at the first period after the change (size grows with the
    change), with dotted lines at the mean before and after.
    """
    empty = base_figure(title, x_title="Period", y_title="Mean tone", y_range=TONE_RANGE)
    if dyad_series.is_empty():
        return with_no_data(empty)
    # Self-tone (a bloc about itself) is not "between" blocs; the matrix diagonal shows it.
    frame = (
        dyad_series.drop_nulls(["period", "source_bloc", "target_bloc"])
        .filter(pl.col("source_bloc") != pl.col("target_bloc"))
        .sort("period")
    )
    present = set(frame.filter(pl.col("n") > 0).select("source_bloc", "target_bloc").iter_rows())
    ids = order_blocs(frame["source_bloc"].to_list() + frame["target_bloc"].to_list(), blocs)
    pairs = [(a, b) for a, b in combinations(ids, 2) if (a, b) in present or (b, a) in present]
    if not pairs:
        return with_no_data(empty)
    names = {bloc_id: label(bloc_style(bloc_id, blocs).name) for bloc_id in ids}
    fig = make_subplots(
        rows=len(pairs),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.12, 0.5 / len(pairs)),
        subplot_titles=[f"{names[a]} ↔ {names[b]}" for a, b in pairs],
    )
    shifts = shifts if shifts is not None else pl.DataFrame()
    shown_shift_legend = False
    for row_number, (a, b) in enumerate(pairs, start=1):
        for source, target, dash in ((a, b, "solid"), (b, a, "dash")):
            rows = frame.filter((pl.col("source_bloc") == source) & (pl.col("target_bloc") == target))
            if rows.is_empty() or not rows["n"].sum():
                continue
            style = bloc_style(source, blocs)
            traces = _series_traces(
                rows, style, name=f"{names[source]} → {names[target]}", group=f"{source}->{target}",
                granularity=granularity, min_statements=min_statements,
                parts={"source": source, "target": target, "statements": 1}, dash=dash,
            )  # fmt: skip
            fig.add_traces(traces, rows=row_number, cols=1)
            if shifts.is_empty():
                continue
            mine = shifts.filter((pl.col("source_bloc") == source) & (pl.col("target_bloc") == target))
            if mine.is_empty():
                continue
            fig.add_trace(_segment_trace(mine, style), row=row_number, col=1)
            marker = _shift_trace(
                mine, style, names=(names[source], names[target]), quotes=shift_quotes or {},
                granularity=granularity, show_legend=not shown_shift_legend,
            )  # fmt: skip
            fig.add_trace(marker, row=row_number, col=1)
            shown_shift_legend = True
    fig.update_yaxes(range=TONE_RANGE, zeroline=True, zerolinecolor=ZERO_LINE)
    fig.update_yaxes(title_text="Mean tone", row=(len(pairs) + 1) // 2, col=1)
    fig.update_xaxes(title_text="Period", row=len(pairs), col=1)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": label(title)},
        height=140 + 230 * len(pairs),
        margin={"t": 90},
        hovermode="closest",
        legend={"title": {"text": "speaker → target"}},
    )
    return fig


def _series_traces(
    rows: pl.DataFrame,
    style: BlocStyle,
    *,
    name: str,
    group: str,
    granularity: str,
    min_statements: int,
    parts: dict[str, object],
    dash: str = "solid",
    band: bool = False,
) -> list[go.Scatter]:
    periods: list[date] = rows["period"].to_list()
    counts = [n or 0 for n in rows["n"].to_list()]
    means, lows, highs = (rows[column].to_list() for column in ("mean_tone", "ci_low", "ci_high"))
    is_confident = [n >= min_statements for n in counts]
    filters = [
        filter_spec(
            label_text=f"{name}, {period_text(p, granularity)}", **parts, **period_filter(p, granularity)
        )
        for p in periods
    ]
    traces: list[go.Scatter] = []
    if band and any(is_confident):
        traces.append(_band_trace(periods, lows, highs, means, is_confident, style, name, group, granularity))
    if any(is_confident):
        traces.append(
            go.Scatter(
                x=periods,
                y=[m if ok else None for m, ok in zip(means, is_confident, strict=True)],
                mode="lines+markers",
                connectgaps=False,
                name=name,
                legendgroup=group,
                line={"color": style.color, "width": 2, "dash": dash},
                marker={"color": style.color, "size": 7},
                customdata=[list(item) for item in zip(counts, lows, highs, filters, strict=True)],
                hovertemplate=(
                    f"<b>{name}</b><br>%{{x|%Y-%m-%d}}<br>mean tone %{{y:+.2f}}"
                    "<br>95% band %{customdata[1]:+.2f} to %{customdata[2]:+.2f}"
                    "<br>n = %{customdata[0]} statements<br><i>click: show the evidence</i><extra></extra>"
                ),
            )
        )
    sparse = [i for i, n in enumerate(counts) if 0 < n < min_statements]
    if sparse:
        traces.append(
            go.Scatter(
                x=[periods[i] for i in sparse],
                y=[means[i] for i in sparse],
                mode="markers",
                name=f"{name} (n < {min_statements})",
                legendgroup=group,
                showlegend=not any(is_confident),
                opacity=SPARSE_OPACITY,
                marker={"color": style.color, "size": 8, "symbol": "circle-open", "line": {"width": 2}},
                customdata=[[counts[i], filters[i]] for i in sparse],
                hovertemplate=(
                    f"<b>{name}</b><br>%{{x|%Y-%m-%d}}<br>mean tone %{{y:+.2f}}<br>n = %{{customdata[0]}}:"
                    f" too few statements (fewer than {min_statements})<extra></extra>"
                ),
            )
        )
    return traces


def _band_trace(periods, lows, highs, means, is_confident, style, name, group, granularity) -> go.Scatter:
    """The 95% band as closed polygons, one per run of confident periods (None separates runs)."""
    runs: list[list[int]] = []
    for i, ok in enumerate(is_confident):
        if not ok:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    xs: list[object] = []
    ys: list[float | None] = []
    for run in runs:
        low = [lows[i] if lows[i] is not None else means[i] for i in run]
        high = [highs[i] if highs[i] is not None else means[i] for i in run]
        x = [periods[i] for i in run]
        if len(run) == 1:
            half = _ISOLATED_HALF_WIDTH.get(granularity, timedelta(days=2))
            x, low, high = [x[0] - half, x[0] + half], low * 2, high * 2
        xs += [*x, *reversed(x), x[0], None]
        ys += [*high, *reversed(low), high[0], None]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        fill="toself",
        fillcolor=translucent(style.color, BAND_ALPHA),
        line={"width": 0, "color": style.color},
        hoverinfo="skip",
        showlegend=False,
        legendgroup=group,
        name=f"{name} 95% band",
    )


def _count_bars(rows: pl.DataFrame, style: BlocStyle, *, granularity: str, parts: dict) -> go.Bar:
    name = label(style.name)
    periods = rows["period"].to_list()
    filters = [
        filter_spec(
            label_text=f"{name}, {period_text(p, granularity)}", **parts, **period_filter(p, granularity)
        )
        for p in periods
    ]
    return go.Bar(
        x=periods,
        y=[n or 0 for n in rows["n"].to_list()],
        name=f"{name} statements",
        legendgroup=style.bloc_id,
        showlegend=False,
        marker={"color": translucent(style.color, 0.75)},
        customdata=[[f] for f in filters],
        hovertemplate=f"<b>{name}</b><br>%{{x|%Y-%m-%d}}<br>%{{y}} statements<extra></extra>",
    )


def _segment_trace(shifts: pl.DataFrame, style: BlocStyle) -> go.Scatter:
    xs: list[object] = []
    ys: list[float | None] = []
    for shift in shifts.iter_rows(named=True):
        xs += [
            shift["before_start"],
            shift["before_end"],
            None,
            shift["after_start"],
            shift["after_end"],
            None,
        ]
        ys += [
            shift["mean_before"],
            shift["mean_before"],
            None,
            shift["mean_after"],
            shift["mean_after"],
            None,
        ]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": style.color, "width": 1.5, "dash": "dot"},
        hoverinfo="skip",
        showlegend=False,
        name="mean before and after a shift",
    )


def _shift_trace(
    shifts: pl.DataFrame,
    style: BlocStyle,
    *,
    names: tuple[str, str],
    quotes: Mapping[str, str],
    granularity: str,
    show_legend: bool,
) -> go.Scatter:
    source, target = names
    hovers, filters, sizes = [], [], []
    for shift in shifts.iter_rows(named=True):
        verb = "rose" if shift["delta"] > 0 else "fell"
        when = period_text(shift["period"], granularity)
        quote = quotes.get(shift["shift_id"])
        hovers.append(
            f"<b>{source} → {target} {verb}</b> {when}<br>"
            f"{tone_text(shift['mean_before'])} → {tone_text(shift['mean_after'])}"
            f" (change {tone_text(shift['delta'])})<br>"
            f"before: {day_text(shift['before_start'])} – {day_text(shift['before_end'])},"
            f" n = {shift['n_before']}<br>"
            f"after: {day_text(shift['after_start'])} – {day_text(shift['after_end'])},"
            f" n = {shift['n_after']}<br>{p_text(shift['p_value'])} (Bonferroni-corrected)"
            + (f"<br>top evidence: “{label(_shorten(quote))}”" if quote else "")
            + "<br><i>click: show the evidence after the shift</i>"
        )
        until = shift["after_end"] + timedelta(days=1)
        filters.append(
            filter_spec(
                label_text=f"{source} → {target} after the shift {when}",
                source=shift["source_bloc"], target=shift["target_bloc"], statements=1,
                since=shift["after_start"].isoformat(), until=until.isoformat(),
            )
        )  # fmt: skip
        sizes.append(min(34.0, 12.0 + 30.0 * abs(shift["delta"])))
    return go.Scatter(
        x=shifts["period"].to_list(),
        y=shifts["mean_after"].to_list(),
        mode="markers",
        name="detected shift",
        legendgroup="shifts",
        showlegend=show_legend,
        marker={
            "symbol": "diamond",
            "size": sizes,
            "color": style.color,
            "line": {"color": "#222222", "width": 1.5},
        },
        customdata=[[hover, f] for hover, f in zip(hovers, filters, strict=True)],
        hovertemplate="%{customdata[0]}<extra></extra>",
    )


def _shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
