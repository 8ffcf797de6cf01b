"""Turn aggregated tone frames into Plotly figures. Pure: no I/O, no scoring, no store."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

__all__ = [
    "MIN_STATEMENTS",
    "NEUTRAL_GREY",
    "BlocStyle",
    "bloc_style",
    "bloc_tone_figure",
    "dyad_matrix_figure",
    "dyad_timeline_figure",
    "order_blocs",
]

# A mean of one or two statements is an anecdote, not a tone: drawn faded, never joined by lines.
MIN_STATEMENTS = 3
NEUTRAL_GREY = "#7f7f7f"
NO_DATA_TEXT = "no data"
TEMPLATE = "plotly_white"
TONE_RANGE = [-1.0, 1.0]
BAND_ALPHA = 0.18
SPARSE_OPACITY = 0.45
BLOC_TONE_TITLE = "How each capital is talked about"
DYAD_MATRIX_TITLE = "Who speaks of whom: mean tone over the whole period"
DYAD_TIMELINE_TITLE = "Tone between blocs, both directions"
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


@dataclass(frozen=True)
class BlocStyle:
    """How one bloc is named and coloured, the same in every figure and table."""

    bloc_id: str
    name: str
    color: str

    def __post_init__(self) -> None:
        # The colour also lands in the report's CSS, so only a plain hex colour is accepted.
        if not _HEX_COLOR.fullmatch(self.color):
            raise ValueError(
                f"BlocStyle {self.bloc_id!r}: color must be a hex colour like '#1f77b4', got {self.color!r}"
            )


def bloc_style(bloc_id: str, blocs: Sequence[BlocStyle]) -> BlocStyle:
    """The style of `bloc_id`, or neutral grey named by its id when `blocs` lacks it."""
    for style in blocs:
        if style.bloc_id == bloc_id:
            return style
    return BlocStyle(bloc_id=bloc_id, name=bloc_id, color=NEUTRAL_GREY)


def order_blocs(bloc_ids: Iterable[str | None], blocs: Sequence[BlocStyle]) -> list[str]:
    """Distinct non-null ids: those in `blocs` in its order, then unknown ids sorted."""
    present = {bloc_id for bloc_id in bloc_ids if bloc_id is not None}
    known = [style.bloc_id for style in blocs if style.bloc_id in present]
    return known + sorted(present - set(known))


def bloc_tone_figure(
    bloc_series: pl.DataFrame, blocs: Sequence[BlocStyle], *, title: str = BLOC_TONE_TITLE
) -> go.Figure:
    """Mean tone toward each target bloc per period, with its 95% band; sparse points faded."""
    fig = _base_figure(title, x_title="Period", y_title="Mean tone toward the bloc", y_range=TONE_RANGE)
    if bloc_series.is_empty():
        return _with_no_data(fig)
    frame = bloc_series.drop_nulls(["period", "target_bloc", "mean_tone"]).sort("period")
    for bloc_id in order_blocs(frame["target_bloc"].to_list(), blocs):
        style = bloc_style(bloc_id, blocs)
        rows = frame.filter(pl.col("target_bloc") == bloc_id)
        confident, sparse = _split_sparse(rows)
        if not confident.is_empty():
            fig.add_traces(_band_traces(confident, style, group=bloc_id))
            line = _line_trace(confident, style, name=_label(style.name), group=bloc_id)
            fig.add_trace(line)
        if not sparse.is_empty():
            fig.add_trace(
                _sparse_trace(
                    sparse,
                    style,
                    name=_label(style.name),
                    group=bloc_id,
                    show_legend=confident.is_empty(),
                )
            )
    return fig if fig.data else _with_no_data(fig)


def dyad_matrix_figure(
    dyad_totals: pl.DataFrame, blocs: Sequence[BlocStyle], *, title: str = DYAD_MATRIX_TITLE
) -> go.Figure:
    """Heatmap of mean tone, speaker bloc (rows) toward target bloc (columns); empty cells blank."""
    fig = _base_figure(title, x_title="Target bloc (spoken about)", y_title="Speaker bloc")
    if dyad_totals.is_empty():
        return _with_no_data(fig)
    frame = dyad_totals.drop_nulls(["source_bloc", "target_bloc"])
    ids = order_blocs(frame["source_bloc"].to_list() + frame["target_bloc"].to_list(), blocs)
    index = {bloc_id: i for i, bloc_id in enumerate(ids)}
    z: list[list[float | None]] = [[None] * len(ids) for _ in ids]
    text = [[""] * len(ids) for _ in ids]
    hover = [[""] * len(ids) for _ in ids]
    for row in frame.iter_rows(named=True):
        if row["mean_tone"] is None:
            continue
        i, j = index[row["source_bloc"]], index[row["target_bloc"]]
        n = row["n"] or 0
        z[i][j] = row["mean_tone"]
        text[i][j] = f"{row['mean_tone']:+.2f}<br>n={n}"
        source, target = (_label(bloc_style(b, blocs).name) for b in (ids[i], ids[j]))
        hover[i][j] = f"{source} → {target}<br>mean tone {row['mean_tone']:+.2f}<br>n = {n}"
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=ids,
            y=ids,
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
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
    ticks = [_coloured_label(bloc_style(bloc_id, blocs)) for bloc_id in ids]
    axis = {"type": "category", "tickmode": "array", "tickvals": ids, "ticktext": ticks}
    fig.update_xaxes(**axis, side="top")
    # Rows read top-down in bloc order, like a table.
    fig.update_yaxes(**axis, autorange="reversed")
    # The column labels sit on top, under the title: leave them room.
    fig.update_layout(height=max(380, 160 + 90 * len(ids)), margin={"t": 140})
    return fig


def dyad_timeline_figure(
    dyad_series: pl.DataFrame, blocs: Sequence[BlocStyle], *, title: str = DYAD_TIMELINE_TITLE
) -> go.Figure:
    """One panel per pair of blocs: A→B solid, B→A dashed, each line in its speaker's colour."""
    if dyad_series.is_empty():
        return _with_no_data(_base_figure(title, x_title="Period", y_title="Mean tone", y_range=TONE_RANGE))
    # Self-tone (a bloc about itself) is not "between" blocs; the matrix diagonal shows it.
    frame = (
        dyad_series.drop_nulls(["period", "source_bloc", "target_bloc", "mean_tone"])
        .filter(pl.col("source_bloc") != pl.col("target_bloc"))
        .sort("period")
    )
    present = set(frame.select("source_bloc", "target_bloc").iter_rows())
    ids = order_blocs(frame["source_bloc"].to_list() + frame["target_bloc"].to_list(), blocs)
    pairs = [(a, b) for a, b in combinations(ids, 2) if (a, b) in present or (b, a) in present]
    if not pairs:
        return dyad_timeline_figure(dyad_series.clear(), blocs, title=title)
    names = {bloc_id: _label(bloc_style(bloc_id, blocs).name) for bloc_id in ids}
    fig = make_subplots(
        rows=len(pairs),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.12, 0.5 / len(pairs)),
        subplot_titles=[f"{names[a]} ↔ {names[b]}" for a, b in pairs],
    )
    for row_number, (a, b) in enumerate(pairs, start=1):
        for source, target, dash in ((a, b, "solid"), (b, a, "dash")):
            rows = frame.filter((pl.col("source_bloc") == source) & (pl.col("target_bloc") == target))
            style = bloc_style(source, blocs)
            name = f"{names[source]} → {names[target]}"
            group = f"{source}->{target}"
            confident, sparse = _split_sparse(rows)
            if not confident.is_empty():
                trace = _line_trace(confident, style, name=name, group=group, dash=dash)
                fig.add_trace(trace, row=row_number, col=1)
            if not sparse.is_empty():
                trace = _sparse_trace(sparse, style, name=name, group=group, show_legend=confident.is_empty())
                fig.add_trace(trace, row=row_number, col=1)
    fig.update_yaxes(range=TONE_RANGE, zeroline=True, zerolinecolor="#bbbbbb")
    fig.update_yaxes(title_text="Mean tone", row=(len(pairs) + 1) // 2, col=1)
    fig.update_xaxes(title_text="Period", row=len(pairs), col=1)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": _label(title)},
        height=140 + 230 * len(pairs),
        legend={"title": {"text": "speaker → target"}},
    )
    return fig


def _label(text: str) -> str:
    # Plotly renders a subset of HTML in labels; data-derived text must stay literal text.
    return html.escape(text, quote=True)


def _coloured_label(style: BlocStyle) -> str:
    return f'<span style="color:{style.color}"><b>{_label(style.name)}</b></span>'


def _translucent(color: str, alpha: float) -> str:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _base_figure(title: str, *, x_title: str, y_title: str, y_range: list[float] | None = None) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title={"text": _label(title)},
        xaxis={"title": {"text": x_title}},
        yaxis={"title": {"text": y_title}, "range": y_range, "zerolinecolor": "#bbbbbb"},
        height=440,
        hovermode="closest",
    )
    return fig


def _with_no_data(fig: go.Figure) -> go.Figure:
    fig.add_annotation(
        text=NO_DATA_TEXT,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 18, "color": NEUTRAL_GREY},
    )
    return fig


def _split_sparse(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    is_confident = pl.col("n").fill_null(0) >= MIN_STATEMENTS
    return rows.filter(is_confident), rows.filter(~is_confident)


def _band_traces(rows: pl.DataFrame, style: BlocStyle, *, group: str) -> list[go.Scatter]:
    band = rows.select(
        "period",
        pl.col("ci_low").fill_null(pl.col("mean_tone")),
        pl.col("ci_high").fill_null(pl.col("mean_tone")),
    )
    common = {
        "x": band["period"].to_list(),
        "mode": "lines",
        "line": {"width": 0, "color": style.color},
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": group,
        "name": f"{_label(style.name)} 95% band",
    }
    upper = go.Scatter(y=band["ci_high"].to_list(), **common)
    # "tonexty" fills down to the trace added just before: the upper edge above.
    lower = go.Scatter(
        y=band["ci_low"].to_list(),
        fill="tonexty",
        fillcolor=_translucent(style.color, BAND_ALPHA),
        **common,
    )
    return [upper, lower]


def _line_trace(
    rows: pl.DataFrame, style: BlocStyle, *, name: str, group: str, dash: str = "solid"
) -> go.Scatter:
    return go.Scatter(
        x=rows["period"].to_list(),
        y=rows["mean_tone"].to_list(),
        mode="lines+markers",
        name=name,
        legendgroup=group,
        line={"color": style.color, "width": 2, "dash": dash},
        marker={"color": style.color, "size": 7},
        customdata=rows.select("n", "ci_low", "ci_high").rows(),
        hovertemplate=(
            "%{x|%Y-%m-%d}<br>mean tone %{y:+.2f}"
            "<br>95% band %{customdata[1]:+.2f} to %{customdata[2]:+.2f}"
            "<br>n = %{customdata[0]} statements"
        ),
    )


def _sparse_trace(
    rows: pl.DataFrame, style: BlocStyle, *, name: str, group: str, show_legend: bool
) -> go.Scatter:
    return go.Scatter(
        x=rows["period"].to_list(),
        y=rows["mean_tone"].to_list(),
        mode="markers",
        name=f"{name} (n < {MIN_STATEMENTS})",
        legendgroup=group,
        showlegend=show_legend,
        opacity=SPARSE_OPACITY,
        marker={"color": style.color, "size": 8, "symbol": "circle-open", "line": {"width": 2}},
        customdata=rows.select("n").rows(),
        hovertemplate=(
            "%{x|%Y-%m-%d}<br>mean tone %{y:+.2f}"
            f"<br>n = %{{customdata[0]}}: too few statements (fewer than {MIN_STATEMENTS})"
        ),
    )
