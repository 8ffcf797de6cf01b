"""The report's evidence: the sortable, filterable sentence table and the detected-shift cards.

Pure: no I/O. Every string from an article is escaped here; a URL is linked only if it is
http(s). Rows carry data-* attributes that the page's script filters on (see assets.py).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import polars as pl

from .style import BlocStyle, bloc_style, day_text, filter_spec, home_style, order_blocs, p_text, tone_text
from .summary import dyad_name, shift_sentence

LINKABLE_SCHEMES = frozenset({"http", "https"})
SHOWN_ROWS = 200
MAX_SHIFT_CARDS = 12
VOICE = "outlet's own voice"


def esc(value: object) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def bloc_tag(bloc_id: str | None, blocs: Sequence[BlocStyle]) -> str:
    if not bloc_id:
        return ""
    style = bloc_style(bloc_id, blocs)
    return f'<span class="bloc" style="--bloc:{esc(style.color)}">{esc(style.name)}</span>'


def title_html(title: str | None, url: str | None) -> str:
    text = esc(title or url or "")
    try:
        scheme = urlsplit(url or "").scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in LINKABLE_SCHEMES:
        return text
    return f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{text}</a>'


def score_cell(score: float | None, *, tag: str = "td") -> str:
    if score is None:
        return f'<{tag} class="score"></{tag}>'
    sign = "pos" if score > 0 else "neg" if score < 0 else "zero"
    return f'<{tag} class="score {sign}">{esc(tone_text(score))}</{tag}>'


def _time_html(published: datetime | None) -> tuple[str, str]:
    if published is None:
        return "", ""
    return (
        published.date().isoformat(),
        f'<time datetime="{published.isoformat()}">{published:%Y-%m-%d}</time>',
    )


def _row_html(row: dict, blocs: Sequence[BlocStyle]) -> str:
    day, when = _time_html(row["published_at"])
    is_statement = row.get("kind", "statement") == "statement"
    speaker = esc(row["speaker"]) if row["speaker"] else f'<span class="voice">{VOICE}</span>'
    home = row.get("outlet_home")
    attributes = {
        "date": day,
        "time": row["published_at"].isoformat() if row["published_at"] is not None else "",
        "score": "" if row["score"] is None else f"{row['score']:.4f}",
        "source": (row.get("source_bloc") or "") if is_statement else "",
        "target": row.get("target_bloc") or "",
        "home": home or "",
        "speaker": (row.get("source_actor") or "") if is_statement else "",
        "target-actor": row.get("target_actor") or "",
        "kind": "statement" if is_statement else "sentence",
    }
    data = " ".join(f'data-{name}="{esc(value)}"' for name, value in attributes.items())
    home_html = f'<span class="home">{esc(home_style(home, blocs).name)}</span>' if home else ""
    return (
        f"<tr {data}>"
        f'<td class="date">{when}</td>'
        f'<td class="outlet">{esc(row["outlet"])}{home_html}</td>'
        f'<td class="speaker">{speaker} {bloc_tag(row.get("source_bloc"), blocs)}</td>'
        f'<td class="target">{esc(row["target"])} {bloc_tag(row.get("target_bloc"), blocs)}</td>'
        f"{score_cell(row['score'])}"
        f'<td class="sentence">{esc(row["sentence"])}</td>'
        f'<td class="article">{title_html(row["title"], row["url"])}</td>'
        "</tr>"
    )


def _options(select_id: str, caption: str, ids: list[str], names: dict[str, str]) -> str:
    options = "".join(f'<option value="{esc(i)}">{esc(names[i])}</option>' for i in ids)
    return (
        f'<label>{caption} <select id="{select_id}"><option value="">any</option>{options}</select></label>'
    )


def evidence_html(evidence: pl.DataFrame, blocs: Sequence[BlocStyle], *, statements_total: int) -> str:
    """The evidence section: filters, the table (strongest first) and a note on what it holds."""
    heading = '<h2 id="evidence">Evidence: the sentences behind every point</h2>'
    if evidence.is_empty():
        return f'<section class="evidence">{heading}<p>No attributed statements.</p></section>'
    rows = list(evidence.iter_rows(named=True))
    bloc_ids = order_blocs([r.get("source_bloc") for r in rows] + [r.get("target_bloc") for r in rows], blocs)
    homes = order_blocs([r.get("outlet_home") for r in rows], blocs)
    names = {b: bloc_style(b, blocs).name for b in bloc_ids}
    home_names = {h: home_style(h, blocs).name for h in homes}
    controls = (
        '<div class="controls">'
        '<label>Search <input type="search" id="evidence-search"'
        ' placeholder="words, speaker, target, outlet"></label>'
        f"{_options('evidence-source', 'Speaker bloc', bloc_ids, names)}"
        f"{_options('evidence-target', 'Target bloc', bloc_ids, names)}"
        f"{_options('evidence-home', 'Outlet based in', homes, home_names)}"
        '<button type="button" id="evidence-reset">Show all</button>'
        "</div>"
        '<p class="active-filter" id="evidence-active" hidden>From the figure: '
        '<strong id="evidence-active-label"></strong> '
        '<button type="button" id="evidence-clear">clear</button></p>'
        f'<p class="count" id="evidence-count">{len(rows):,} sentences, strongest first.</p>'
    )
    columns = (("date", "Date"), ("outlet", "Outlet"), ("speaker", "Speaker"), ("target", "Target"),
               ("score", "Score"), ("", "Sentence"), ("", "Article"))  # fmt: skip
    header = "".join(
        f'<th scope="col"><button type="button" data-sort="{key}">{text}</button></th>'
        if key
        else f'<th scope="col">{text}</th>'
        for key, text in columns
    )
    body = "".join(_row_html(row, blocs) for row in rows)
    statements = sum(row.get("kind", "statement") == "statement" for row in rows)
    others = len(rows) - statements
    note = (
        f'<p class="note">The report carries {statements:,} of the {statements_total:,} statements in the'
        " period: the strongest few behind every point drawn above (each period of each pair, each"
        " outlet home and bloc, each actor)"
        + (
            f", and {others:,} sentences that only mention a bloc, for the outlet framing figure"
            if others
            else ""
        )
        + ". Click a point or a bar to see its sentences; click a column heading to sort. Every statement"
        " is in the store: <code>tonewatch query</code>.</p>"
    )
    return (
        f'<section class="evidence">{heading}{controls}'
        f'<div class="table-wrap"><table id="evidence-table"><thead><tr>{header}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{note}</section>"
    )


def shifts_html(
    shifts: pl.DataFrame, shift_evidence: pl.DataFrame, blocs: Sequence[BlocStyle], *, granularity: str
) -> str:
    """One card per detected shift, biggest first: the change, its dates and its evidence."""
    heading = '<h2 id="shifts">Detected shifts</h2>'
    if shifts.is_empty():
        return (
            f'<section class="shifts">{heading}<p>No shift in the tone between two blocs passed the test'
            " in this period (see Method).</p></section>"
        )
    cards = []
    for shift in shifts.head(MAX_SHIFT_CARDS).iter_rows(named=True):
        quotes = (
            shift_evidence.filter(pl.col("shift_id") == shift["shift_id"])
            if not shift_evidence.is_empty()
            else shift_evidence
        )
        items = "".join(_quote_html(row, blocs) for row in quotes.iter_rows(named=True))
        dyad = dyad_name(shift["source_bloc"], shift["target_bloc"], blocs)
        until = shift["after_end"] + timedelta(days=1)
        spec = filter_spec(
            label_text=f"{dyad} after the shift",
            source=shift["source_bloc"],
            target=shift["target_bloc"],
            statements=1,
            since=shift["after_start"].isoformat(),
            until=until.isoformat(),
        )
        direction = "up" if shift["delta"] > 0 else "down"
        cards.append(
            f'<article class="shift {direction}" id="{esc(shift["shift_id"])}">'
            f"<h3>{esc(shift_sentence(shift, blocs, granularity=granularity))}</h3>"
            f'<p class="facts">change {esc(tone_text(shift["delta"]))} · before '
            f"{esc(day_text(shift['before_start']))} – {esc(day_text(shift['before_end']))},"
            f" n = {shift['n_before']} · after {esc(day_text(shift['after_start']))} –"
            f" {esc(day_text(shift['after_end']))}, n = {shift['n_after']} ·"
            f" {p_text(shift['p_value'])}</p>"
            f'<ul class="quotes">{items}</ul>'
            f'<button type="button" class="show-evidence" data-filter="{esc(spec)}">'
            "Show the evidence after the shift</button></article>"
        )
    more = shifts.height - MAX_SHIFT_CARDS
    tail = f'<p class="note">{more} smaller shifts are marked on the timelines.</p>' if more > 0 else ""
    return f'<section class="shifts">{heading}{"".join(cards)}{tail}</section>'


def _quote_html(row: dict, blocs: Sequence[BlocStyle]) -> str:
    role = "after the shift" if row["role"] == "after" else "before, for contrast"
    published = row["published_at"]
    when = day_text(published.date()) if published is not None else ""
    return (
        f'<li class="{esc(row["role"])}"><span class="role">{role}</span> '
        f'<q>{esc(row["sentence"])}</q> <span class="who">{esc(row["speaker"])}'
        f" {bloc_tag(row.get('source_bloc'), blocs)} on {esc(row['target'])}, {esc(row['outlet'])},"
        f" {esc(when)}</span> {score_cell(row['score'], tag='span')}"
        f" {title_html(row['title'], row['url'])}</li>"
    )
