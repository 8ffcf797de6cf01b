"""The who → whom matrix of mean tone, with a slider that picks the period it shows.

Pure: no I/O. The slider's steps carry each period's matrix, so moving it needs no code
beyond plotly.js; the first step is the whole report period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import plotly.graph_objects as go
import polars as pl

from ..transforms.aggregate import MIN_STATEMENTS
from .style import (
    TONE_RANGE,
    BlocStyle,
    base_figure,
    bloc_style,
    coloured_label,
    filter_spec,
    label,
    order_blocs,
    period_filter,
    period_text,
    with_no_data,
)

DYAD_MATRIX_TITLE = "Who speaks of whom: mean tone"
# More steps than this and a slider is a blur (and its matrices swell the file): use coarser periods.
MAX_SLIDER_STEPS = 120
ALL_PERIODS = "whole period"


def dyad_matrix_figure(
    dyad_totals: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    period_series: pl.DataFrame | None = None,
    granularity: str = "week",
    min_statements: int = MIN_STATEMENTS,
    title: str = DYAD_MATRIX_TITLE,
) -> go.Figure:
    """Heatmap of mean tone, speaker bloc (rows) toward target bloc (columns); empty cells blank.

    With ``period_series`` (period, source_bloc, target_bloc, mean_tone, n), a slider under
    the matrix switches it to one period; its first step is the whole period (``dyad_totals``).
    """
    fig = base_figure(f"{title}, {ALL_PERIODS}", x_title="Target bloc (spoken about)", y_title="Speaker bloc")
    if dyad_totals.is_empty():
        return with_no_data(fig)
    periods = _periods(period_series)
    frame = dyad_totals.drop_nulls(["source_bloc", "target_bloc"])
    ids = order_blocs(frame["source_bloc"].to_list() + frame["target_bloc"].to_list(), blocs)
    names = {bloc_id: label(bloc_style(bloc_id, blocs).name) for bloc_id in ids}
    whole = _cells(frame, ids, names, min_statements=min_statements, when=ALL_PERIODS, parts={})
    fig.add_trace(
        go.Heatmap(
            z=whole["z"],
            x=ids,
            y=ids,
            text=whole["text"],
            texttemplate="%{text}",
            hovertext=whole["hovertext"],
            customdata=whole["customdata"],
            hovertemplate="%{hovertext}<extra></extra>",
            hoverongaps=False,
            colorscale="RdBu",
            zmin=TONE_RANGE[0],
            zmax=TONE_RANGE[1],
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "mean tone"}},
        )
    )
    ticks = [coloured_label(bloc_style(bloc_id, blocs)) for bloc_id in ids]
    axis = {"type": "category", "tickmode": "array", "tickvals": ids, "ticktext": ticks}
    fig.update_xaxes(**axis, side="top")
    # Rows read top-down in bloc order, like a table.
    fig.update_yaxes(**axis, autorange="reversed")
    # The column labels sit on top, under the title: leave them room.
    height = max(380, 160 + 90 * len(ids))
    fig.update_layout(height=height, margin={"t": 140})
    if periods:
        steps = [_step(ALL_PERIODS, whole, f"{title}, {ALL_PERIODS}")]
        assert period_series is not None
        for period in periods:
            rows = period_series.filter((pl.col("period") == period) & (pl.col("n") > 0))
            when = period_text(period, granularity)
            cells = _cells(
                rows, ids, names, min_statements=min_statements, when=when,
                parts=period_filter(period, granularity),
            )  # fmt: skip
            steps.append(_step(_short_period(period, granularity), cells, f"{title}, {when}"))
        fig.update_layout(
            height=height + 110,
            margin={"t": 140, "b": 120},
            sliders=[
                {
                    "active": 0,
                    "steps": steps,
                    "currentvalue": {"prefix": "Period: ", "font": {"size": 14}},
                    "pad": {"t": 30},
                    "len": 1.0,
                    "x": 0.0,
                    "y": 0.0,
                    "yanchor": "top",
                }
            ],
        )
    return fig


def _periods(period_series: pl.DataFrame | None) -> list[date]:
    if period_series is None or period_series.is_empty():
        return []
    return sorted(period_series.filter(pl.col("n") > 0)["period"].unique().to_list())


def _cells(
    frame: pl.DataFrame,
    ids: list[str],
    names: dict[str, str],
    *,
    min_statements: int,
    when: str,
    parts: dict[str, str],
) -> dict[str, list[list]]:
    index = {bloc_id: i for i, bloc_id in enumerate(ids)}
    size = len(ids)
    z: list[list[float | None]] = [[None] * size for _ in ids]
    text = [[""] * size for _ in ids]
    hover = [[""] * size for _ in ids]
    customdata = [[""] * size for _ in ids]
    for row in frame.iter_rows(named=True):
        if row["mean_tone"] is None or row["source_bloc"] not in index or row["target_bloc"] not in index:
            continue
        i, j = index[row["source_bloc"]], index[row["target_bloc"]]
        n = row["n"] or 0
        is_sparse = n < min_statements
        dyad = f"{names[ids[i]]} → {names[ids[j]]}"
        z[i][j] = row["mean_tone"]
        text[i][j] = f"{row['mean_tone']:+.2f}<br>n={n}" + ("*" if is_sparse else "")
        hover[i][j] = (
            f"<b>{dyad}</b>, {when}<br>mean tone {row['mean_tone']:+.2f}<br>n = {n}"
            + (f" (fewer than {min_statements}: anecdotal)" if is_sparse else "")
            + "<br><i>click: show the evidence</i>"
        )
        customdata[i][j] = filter_spec(
            label_text=f"{dyad}, {when}",
            source=ids[i],
            target=ids[j],
            statements=1,
            **parts,
        )
    return {"z": z, "text": text, "hovertext": hover, "customdata": customdata}


def _step(step_label: str, cells: dict[str, list[list]], title: str) -> dict:
    return {
        "label": step_label,
        "method": "update",
        "args": [{name: [values] for name, values in cells.items()}, {"title.text": label(title)}],
    }


def _short_period(period: date, granularity: str) -> str:
    if granularity == "month":
        return f"{period:%b %Y}"
    return f"{period.day} {period:%b %Y}"
