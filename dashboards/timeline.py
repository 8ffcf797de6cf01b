"""The dyad timelines: both directions of each pair of blocs, with the detected shifts.

Pure: no I/O, no scoring, no store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from itertools import combinations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..transforms.aggregate import MIN_STATEMENTS
from .series import series_traces
from .style import (
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
    period_text,
    tone_text,
    with_no_data,
)

DYAD_TIMELINE_TITLE = "Tone between blocs, both directions, with detected shifts"


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
            traces = series_traces(
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
