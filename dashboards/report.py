"""Write aggregated tone data as one self-contained offline HTML report; never scores or fetches."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from ..transforms.aggregate import MIN_STATEMENTS
from ..transforms.shifts import SHIFT_SCHEMA
from .assets import REPORT_CSS, REPORT_SCRIPT
from .coverage import actor_leaderboard_figure, outlet_framing_figure
from .evidence import LINKABLE_SCHEMES, esc, evidence_html, shifts_html
from .figures import bloc_tone_figure, dyad_matrix_figure, dyad_timeline_figure
from .method import method_html
from .style import BlocStyle
from .summary import summary_lines

__all__ = ["LINKABLE_SCHEMES", "BlocStyle", "ReportData", "render_report_html", "write_report"]

BUILD_KEY_META = "tonewatch-report-key"
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    # plotly.js 4 adds a "Share chart" button that uploads the figure to Plotly Cloud.
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendChartToCloud", "select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
# Defence in depth: even injected markup could not load or send anything from any host.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def _empty() -> pl.DataFrame:
    return pl.DataFrame()


# eq=False: comparing frames with == yields a frame, not a bool.
@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything one report shows, already aggregated; frames hold bloc ids, not names.

    bloc_series: period, target_bloc, mean_tone, n, ci_low, ci_high (n = 0: nothing said).
    dyad_series: period, source_bloc, target_bloc, mean_tone, n, ci_low, ci_high.
    dyad_totals: source_bloc, target_bloc, mean_tone, n (whole period).
    evidence: published_at (UTC), outlet, outlet_home, title, url, sentence, speaker,
    source_actor, source_bloc, target, target_actor, target_bloc, score, kind
    ("statement", or "sentence" for a sentence that only mentions its target); strongest first.
    shifts: see transforms.shifts.SHIFT_SCHEMA; shift_evidence: shift_id, role and evidence columns.
    framing: outlet_home, target_bloc, mean_tone, n, ci_low, ci_high.
    target_leaders / speaker_leaders: see transforms.aggregate's leaderboards.
    """

    title: str
    generated_at: datetime
    scorer_version: str
    period_start: date | None
    period_end: date | None
    articles: int
    outlets: int
    sentences: int
    edges: int
    blocs: tuple[BlocStyle, ...]
    bloc_series: pl.DataFrame
    dyad_series: pl.DataFrame
    dyad_totals: pl.DataFrame
    evidence: pl.DataFrame
    granularity: str = "week"
    min_statements: int = MIN_STATEMENTS
    shifts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SHIFT_SCHEMA))
    shift_evidence: pl.DataFrame = field(default_factory=_empty)
    framing: pl.DataFrame = field(default_factory=_empty)
    target_leaders: pl.DataFrame = field(default_factory=_empty)
    speaker_leaders: pl.DataFrame = field(default_factory=_empty)
    filters: tuple[str, ...] = ()
    # The matrix slider's periods, when coarser than ``granularity`` (see matrix.MAX_SLIDER_STEPS).
    matrix_series: pl.DataFrame | None = None
    matrix_granularity: str | None = None
    # What the report was built from (flows.reporting.report_key): a run whose store and
    # options give the same key leaves the report as it is.
    build_key: str = ""

    def __post_init__(self) -> None:
        if self.generated_at.tzinfo is None:
            raise ValueError(
                f"ReportData.generated_at must be timezone-aware (UTC), got {self.generated_at!r}"
            )


@dataclass(frozen=True)
class _Figure:
    div_id: str
    caption: str
    build: Callable[[ReportData], go.Figure]


def _quotes(data: ReportData) -> dict[str, str]:
    if data.shift_evidence.is_empty():
        return {}
    after = data.shift_evidence.filter(pl.col("role") == "after").unique("shift_id", keep="first")
    return dict(after.select("shift_id", "sentence").iter_rows())


# The report's figures, in page order: one line each (see STYLE.md, "Adding one thing").
FIGURES = (
    _Figure(
        "figure-bloc-tone",
        "Mean tone of what speakers say about each bloc, per period, with its 95% band; the bars below count"
        " the statements. Hollow faded points rest on fewer than {min} statements; gaps mean none.",
        lambda d: bloc_tone_figure(
            d.bloc_series, d.blocs, granularity=d.granularity, min_statements=d.min_statements
        ),
    ),
    _Figure(
        "figure-dyad-matrix",
        "Rows speak, columns are spoken about: mean tone and count of statements. Move the slider to see one"
        " period; * marks fewer than {min} statements. Click a cell for its sentences.",
        lambda d: dyad_matrix_figure(
            d.dyad_totals,
            d.blocs,
            period_series=d.dyad_series,
            granularity=d.granularity,
            min_statements=d.min_statements,
        ),  # fmt: skip
    ),
    _Figure(
        "figure-dyad-timeline",
        "One panel per pair of blocs: solid line one way, dashed the other, each in the speaker's colour."
        " Diamonds mark detected shifts (bigger: larger change); dotted lines: the mean before and after.",
        lambda d: dyad_timeline_figure(
            d.dyad_series,
            d.blocs,
            shifts=d.shifts,
            shift_quotes=_quotes(d),
            granularity=d.granularity,
            min_statements=d.min_statements,
        ),  # fmt: skip
    ),
    _Figure(
        "figure-outlet-framing",
        "Tone of every sentence that mentions a bloc's actors (quoted or in the outlet's own words), by where"
        " the outlet is based, with 95% error bars. Hatched bars rest on fewer than {min} sentences.",
        lambda d: outlet_framing_figure(d.framing, d.blocs, min_statements=d.min_statements),
    ),
    _Figure(
        "figure-actor-leaderboard",
        "Targets spoken of most positively and most negatively (only those with {min} or more statements),"
        " and the speakers with the most statements, in their bloc's colour. Click a bar for the sentences.",
        lambda d: actor_leaderboard_figure(
            d.target_leaders, d.speaker_leaders, d.blocs, min_statements=d.min_statements
        ),
    ),
)


def render_report_html(data: ReportData) -> str:
    """The whole report as one HTML document: plotly.js inlined, every data string escaped."""
    figures = {f.div_id: _figure_html(f.div_id, f.caption.format(min=data.min_statements), f.build(data))
               for f in FIGURES}  # fmt: skip
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            *([f'<meta name="{BUILD_KEY_META}" content="{esc(data.build_key)}">'] if data.build_key else []),
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(data.title)}</title>",
            f"<style>{REPORT_CSS}</style>",
            "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
            f"<script>{_plotly_js()}</script>",
            "</head>",
            "<body>",
            "<main>",
            _header_html(data),
            _summary_html(data),
            figures["figure-bloc-tone"],
            figures["figure-dyad-matrix"],
            figures["figure-dyad-timeline"],
            shifts_html(data.shifts, data.shift_evidence, data.blocs, granularity=data.granularity),
            figures["figure-outlet-framing"],
            figures["figure-actor-leaderboard"],
            evidence_html(data.evidence, data.blocs, statements_total=data.edges),
            method_html(data.granularity, min_statements=data.min_statements),
            "</main>",
            f"<script>{REPORT_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_report(data: ReportData, out_path: Path) -> Path:
    """Write the report to `out_path` atomically (temporary file, then rename); return the path."""
    return write_text_atomically(render_report_html(data), out_path)


def write_text_atomically(document: str, out_path: Path) -> Path:
    """Write ``document`` to ``out_path`` so that readers never see half a file."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target, so os.replace is a rename.
    tmp_path = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp_path.open("w", encoding="utf-8") as handle:
            handle.write(document)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, out_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return out_path


@cache
def _plotly_js() -> str:
    return get_plotlyjs()


def _period_text(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "no data"
    if start is None:
        return f"until {end:%Y-%m-%d}"
    if end is None:
        return f"from {start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _header_html(data: ReportData) -> str:
    counts = [
        ("Articles", data.articles),
        ("Outlets", data.outlets),
        ("Sentences", data.sentences),
        ("Edges", data.edges),
    ]
    count_html = "".join(
        f'<div class="count"><dt>{label}</dt><dd>{value:,}</dd></div>' for label, value in counts
    )
    generated = data.generated_at.astimezone(UTC)
    filters = "".join(f"<li>{esc(text)}</li>" for text in data.filters)
    toc = "".join(
        f'<a href="#{target}">{text}</a>'
        for target, text in (
            ("summary", "Summary"), ("figure-bloc-tone", "Tone over time"), ("figure-dyad-matrix", "Matrix"),
            ("figure-dyad-timeline", "Pairs"), ("shifts", "Shifts"), ("figure-outlet-framing", "Outlets"),
            ("figure-actor-leaderboard", "Actors"), ("evidence", "Evidence"), ("method", "Method"),
        )
    )  # fmt: skip
    return (
        "<header>"
        f"<h1>{esc(data.title)}</h1>"
        f'<p class="period">Period: {esc(_period_text(data.period_start, data.period_end))}'
        f" · points per {esc(data.granularity)}</p>"
        + (f'<ul class="filters">{filters}</ul>' if filters else "")
        + f'<dl class="counts">{count_html}</dl>'
        f'<p class="meta">Scorer version <code>{esc(data.scorer_version)}</code> · generated '
        f'<time datetime="{generated.isoformat()}">{generated:%Y-%m-%d %H:%M} UTC</time></p>'
        f'<nav class="toc">{toc}</nav>'
        "</header>"
    )


def _summary_html(data: ReportData) -> str:
    lines = summary_lines(
        data.shifts,
        data.shift_evidence,
        data.dyad_totals,
        data.blocs,
        granularity=data.granularity,
        min_statements=data.min_statements,
    )
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<section class="summary"><h2 id="summary">In short</h2><ul>{items}</ul></section>'


def _figure_html(div_id: str, caption: str, fig: go.Figure) -> str:
    # to_html JSON-encodes figure strings with <, > and / escaped, so no text can end the script.
    div = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=div_id)
    return f'<section class="figure">{div}<p class="caption">{caption}</p></section>'
