"""The traces of one tone series: confident line, sparse markers, 95% band and counts.

Pure: no I/O. Shared by the tone-over-time figure and the dyad timelines, so a point, a
band and a sparse point look and click the same everywhere.
"""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from .style import BlocStyle, filter_spec, label, period_filter, period_text, translucent

BAND_ALPHA = 0.18
SPARSE_OPACITY = 0.5
# Half the width of the box drawn as the band of a point with no confident neighbour.
_ISOLATED_HALF_WIDTH = {"day": timedelta(hours=8), "week": timedelta(days=2), "month": timedelta(days=9)}


def series_traces(
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
        traces.append(band_trace(periods, lows, highs, means, is_confident, style, name, group, granularity))
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


def band_trace(periods, lows, highs, means, is_confident, style, name, group, granularity) -> go.Scatter:
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


def count_bars(rows: pl.DataFrame, style: BlocStyle, *, granularity: str, parts: dict) -> go.Bar:
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
