"""Write aggregated tone data as one self-contained offline HTML report; never scores or fetches."""

from __future__ import annotations

import html
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from .figures import (
    MIN_STATEMENTS,
    BlocStyle,
    bloc_style,
    bloc_tone_figure,
    dyad_matrix_figure,
    dyad_timeline_figure,
)

__all__ = ["BlocStyle", "ReportData", "render_report_html", "write_report"]

LINKABLE_SCHEMES = frozenset({"http", "https"})
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


# eq=False: comparing frames with == yields a frame, not a bool.
@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything one report shows, already aggregated; frames hold bloc ids, not names.

    bloc_series: period, target_bloc, mean_tone, n, ci_low, ci_high.
    dyad_series: period, source_bloc, target_bloc, mean_tone, n, ci_low, ci_high.
    dyad_totals: source_bloc, target_bloc, mean_tone, n (whole period).
    evidence: published_at (UTC), outlet, title, url, sentence, speaker, source_bloc,
    target, target_bloc, score; strongest |score| first.
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

    def __post_init__(self) -> None:
        if self.generated_at.tzinfo is None:
            raise ValueError(
                f"ReportData.generated_at must be timezone-aware (UTC), got {self.generated_at!r}"
            )


def render_report_html(data: ReportData) -> str:
    """The whole report as one HTML document: plotly.js inlined, every data string escaped."""
    figures = [
        ("figure-bloc-tone", _BLOC_TONE_CAPTION, bloc_tone_figure(data.bloc_series, data.blocs)),
        ("figure-dyad-matrix", _MATRIX_CAPTION, dyad_matrix_figure(data.dyad_totals, data.blocs)),
        (
            "figure-dyad-timeline",
            _TIMELINE_CAPTION,
            dyad_timeline_figure(data.dyad_series, data.blocs),
        ),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(data.title)}</title>",
            f"<style>{_CSS}</style>",
            "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
            f"<script>{_plotly_js()}</script>",
            "</head>",
            "<body>",
            "<main>",
            _header_html(data),
            *(_figure_html(div_id, caption, fig) for div_id, caption, fig in figures),
            _evidence_html(data),
            _METHOD_HTML,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_report(data: ReportData, out_path: Path) -> Path:
    """Write the report to `out_path` atomically (temporary file, then rename); return the path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    document = render_report_html(data)
    # Same directory as the target, so os.replace is a rename: readers never see half a file.
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


def _esc(value: object) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


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
    return (
        "<header>"
        f"<h1>{_esc(data.title)}</h1>"
        f'<p class="period">Period: {_esc(_period_text(data.period_start, data.period_end))}</p>'
        f'<dl class="counts">{count_html}</dl>'
        f'<p class="meta">Scorer version <code>{_esc(data.scorer_version)}</code> · generated '
        f'<time datetime="{generated.isoformat()}">{generated:%Y-%m-%d %H:%M} UTC</time></p>'
        "</header>"
    )


def _figure_html(div_id: str, caption: str, fig: go.Figure) -> str:
    # to_html JSON-encodes figure strings with <, > and / escaped, so no text can end the script.
    div = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=div_id)
    return f'<section class="figure">{div}<p class="caption">{caption}</p></section>'


def _bloc_tag(bloc_id: str | None, data: ReportData) -> str:
    if bloc_id is None:
        return ""
    style = bloc_style(bloc_id, data.blocs)
    return f'<span class="bloc" style="--bloc:{_esc(style.color)}">{_esc(style.name)}</span>'


def _title_html(title: str | None, url: str | None) -> str:
    text = _esc(title or url or "")
    try:
        scheme = urlsplit(url or "").scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in LINKABLE_SCHEMES:
        return text
    return f'<a href="{_esc(url)}" rel="noopener noreferrer" target="_blank">{text}</a>'


def _score_html(score: float | None) -> str:
    if score is None:
        return '<td class="score"></td>'
    sign = "pos" if score > 0 else "neg" if score < 0 else "zero"
    return f'<td class="score {sign}">{score:+.2f}</td>'


def _evidence_html(data: ReportData) -> str:
    heading = "<h2>Evidence: the strongest statements</h2>"
    if data.evidence.is_empty():
        return f'<section class="evidence">{heading}<p>No attributed statements.</p></section>'
    rows = []
    for row in data.evidence.iter_rows(named=True):
        published = row["published_at"]
        when = (
            ""
            if published is None
            else f'<time datetime="{published.isoformat()}">{published:%Y-%m-%d}</time>'
        )
        rows.append(
            "<tr>"
            f'<td class="date">{when}</td>'
            f"<td>{_esc(row['outlet'])}</td>"
            f'<td class="dyad">{_esc(row["speaker"])} {_bloc_tag(row["source_bloc"], data)}'
            f" → {_esc(row['target'])} {_bloc_tag(row['target_bloc'], data)}</td>"
            f"{_score_html(row['score'])}"
            f'<td class="sentence">{_esc(row["sentence"])}</td>'
            f"<td>{_title_html(row['title'], row['url'])}</td>"
            "</tr>"
        )
    return (
        f'<section class="evidence">{heading}<table><thead><tr>'
        "<th>Date</th><th>Outlet</th><th>Speaker → target</th><th>Score</th>"
        "<th>Sentence</th><th>Article</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


_BLOC_TONE_CAPTION = (
    "Mean tone of what is said about each bloc, per period, with its 95% band. "
    f"Hollow faded points rest on fewer than {MIN_STATEMENTS} statements."
)
_MATRIX_CAPTION = (
    "Rows speak, columns are spoken about: each cell is the mean tone and count of "
    "statements over the whole period. Blank cells: no statements."
)
_TIMELINE_CAPTION = (
    "One panel per pair of blocs: solid line one way, dashed line the other, each in the speaker's colour."
)
_METHOD_HTML = f"""<details class="method"><summary>Method</summary>
<p>Each sentence that an article attributes to a speaker is scored with VADER on the part
that is about each actor it mentions; that score is the statement's tone toward the target,
from &minus;1 (hostile) to +1 (warm). A point is the mean of these target tones over the
attributed statements in its period; n is how many statements it averages.</p>
<p>The band is mean &plusmn; 1.96&middot;sd/&radic;n, a normal approximation (no t correction).
Points resting on fewer than {MIN_STATEMENTS} statements are drawn faded and hollow, without
lines or bands: too few to call a tone. Unattributed sentences are the outlet's own voice and
are not edges between blocs. The matrix covers the whole period; empty cells mean no
statements.</p>
</details>"""

_CSS = """
:root { color-scheme: light; --ink: #222; --muted: #666; --rule: #e3e3e3; }
* { box-sizing: border-box; }
body { margin: 0; background: #fafafa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header { border-bottom: 1px solid var(--rule); margin-bottom: 16px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 0 0 8px; }
.period, .meta { color: var(--muted); margin: 4px 0; }
.counts { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.count { background: #fff; border: 1px solid var(--rule); border-radius: 6px; padding: 6px 14px; }
.count dt { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
.count dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
section { background: #fff; border: 1px solid var(--rule); border-radius: 8px;
  padding: 16px; margin: 16px 0; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px;
  border-bottom: 1px solid var(--rule); }
th { position: sticky; top: 0; background: #fff; }
td.date { white-space: nowrap; }
td.score { font-weight: 600; font-variant-numeric: tabular-nums; text-align: right; }
td.pos { color: #1a7f37; } td.neg { color: #c62828; } td.zero { color: var(--muted); }
td.sentence { max-width: 38em; }
.bloc { display: inline-block; font-size: .75rem; padding: 0 6px; border-radius: 9px;
  border: 1px solid var(--bloc); color: var(--bloc); white-space: nowrap; }
.caption { color: var(--muted); font-size: .85rem; margin: 4px 8px 0; }
details.method { margin: 16px 0; color: #333; }
details.method summary { cursor: pointer; font-weight: 600; }
a { color: #0b57d0; }
"""
