"""How blocs, outlet homes, periods and tones are named and coloured, the same in every figure.

Pure: no I/O. Everything a label shows from data goes through ``label`` (HTML-escaped).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

import plotly.graph_objects as go

from ..transforms.aggregate import period_end

NEUTRAL_GREY = "#7f7f7f"
NO_DATA_TEXT = "no data"
TEMPLATE = "plotly_white"
TONE_RANGE = [-1.0, 1.0]
ZERO_LINE = "#bbbbbb"
MINUS = "\u2212"
OTHER_HOME = "other"
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


def home_style(home: str, blocs: Sequence[BlocStyle]) -> BlocStyle:
    """An outlet home in its bloc's colour ("Moscow-based"); "other" and unknown homes in grey."""
    for style in blocs:
        if style.bloc_id == home:
            return BlocStyle(home, f"{style.name}-based", style.color)
    name = "Other / international" if home == OTHER_HOME else f"{home}-based"
    return BlocStyle(home, name, NEUTRAL_GREY)


def order_blocs(bloc_ids: Iterable[str | None], blocs: Sequence[BlocStyle]) -> list[str]:
    """Distinct non-null ids: those in `blocs` in its order, then unknown ids sorted."""
    present = {bloc_id for bloc_id in bloc_ids if bloc_id is not None}
    known = [style.bloc_id for style in blocs if style.bloc_id in present]
    return known + sorted(present - set(known))


def label(text: object) -> str:
    """Data-derived text for a Plotly label: Plotly renders some HTML, so it must stay literal."""
    return html.escape(str(text), quote=True)


def coloured_label(style: BlocStyle) -> str:
    return f'<span style="color:{style.color}"><b>{label(style.name)}</b></span>'


def translucent(color: str, alpha: float) -> str:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def tone_text(value: float | None) -> str:
    """A tone as analysts write it: sign always shown, a true minus sign, two decimals."""
    if value is None:
        return "n/a"
    text = f"{value:+.2f}"
    return text.replace("-", MINUS) if text != "-0.00" else "+0.00"


def p_text(p_value: float) -> str:
    """p = 0.0047, or p < 0.0001 for anything smaller (more digits would be false precision)."""
    return "p < 0.0001" if p_value < 1e-4 else f"p = {p_value:.2g}"


def day_text(day: date) -> str:
    """17 Feb 2025."""
    return f"{day.day} {day:%b %Y}"


def period_text(period: date, granularity: str) -> str:
    """The period a point stands for: 17 Feb 2025, week of 17 Feb 2025 or Feb 2025."""
    if granularity == "week":
        return f"week of {day_text(period)}"
    if granularity == "month":
        return f"{period:%b %Y}"
    return day_text(period)


def filter_spec(*, label_text: str, **parts: object) -> str:
    """What a click on a point selects in the evidence table, as a query string the page parses.

    Parts: source, target (bloc ids), home, speaker, target_actor (ids), since, until
    (ISO dates, until exclusive), statements ("1": only speaker → target statements).
    """
    values = {name: str(value) for name, value in parts.items() if value is not None}
    return urlencode({**values, "label": label_text})


def period_filter(period: date, granularity: str) -> dict[str, str]:
    return {"since": period.isoformat(), "until": period_end(period, granularity).isoformat()}


def base_figure(title: str, *, x_title: str, y_title: str, y_range: list[float] | None = None) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title={"text": label(title)},
        xaxis={"title": {"text": x_title}},
        yaxis={"title": {"text": y_title}, "range": y_range, "zerolinecolor": ZERO_LINE},
        height=440,
        margin={"t": 70},
        hovermode="closest",
    )
    return fig


def with_no_data(fig: go.Figure) -> go.Figure:
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
