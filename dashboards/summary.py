"""The report's summary in plain words: the biggest shifts and the coldest and warmest pairs.

Pure: no I/O. Returns plain text (the report escapes it), so it reads the same in an e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..transforms.aggregate import MIN_STATEMENTS
from ..transforms.shifts import ALPHA, MIN_DELTA, MIN_SIDE_STATEMENTS
from .style import BlocStyle, bloc_style, day_text, period_text, tone_text

SUMMARY_SHIFTS = 3
QUOTE_CHARS = 160


def dyad_name(source: str, target: str, blocs: Sequence[BlocStyle]) -> str:
    return f"{bloc_style(source, blocs).name} → {bloc_style(target, blocs).name}"


def shift_sentence(shift: dict, blocs: Sequence[BlocStyle], *, granularity: str) -> str:
    """Moscow → Washington rose from −0.21 to +0.34 in the week of 17 Feb 2025."""
    verb = "rose" if shift["delta"] > 0 else "fell"
    when = period_text(shift["period"], granularity)
    preposition = "in" if granularity != "day" else "on"
    if granularity == "week":
        when = f"the {when}"
    return (
        f"{dyad_name(shift['source_bloc'], shift['target_bloc'], blocs)} {verb} from"
        f" {tone_text(shift['mean_before'])} to {tone_text(shift['mean_after'])} {preposition} {when}"
    )


def quote_text(evidence: dict) -> str:
    """“Sentence…” (speaker, outlet, 18 Feb 2025)."""
    sentence = " ".join(str(evidence["sentence"] or "").split())
    if len(sentence) > QUOTE_CHARS:
        sentence = sentence[: QUOTE_CHARS - 1].rstrip() + "…"
    published = evidence["published_at"]
    when = day_text(published.date()) if published is not None else "undated"
    return f"“{sentence}” ({evidence['speaker']}, {evidence['outlet']}, {when})"


def summary_lines(
    shifts: pl.DataFrame,
    shift_evidence: pl.DataFrame,
    dyad_totals: pl.DataFrame,
    blocs: Sequence[BlocStyle],
    *,
    granularity: str,
    min_statements: int = MIN_STATEMENTS,
    limit: int = SUMMARY_SHIFTS,
) -> list[str]:
    """One line per biggest shift (at most ``limit``), then one on the coldest and warmest pairs."""
    if shifts.is_empty() and dyad_totals.is_empty():
        return ["No statements between blocs in this period."]
    lines = []
    for shift in shifts.head(limit).iter_rows(named=True):
        line = (
            f"{shift_sentence(shift, blocs, granularity=granularity)}; {shift['n_after']} statements"
            f" since, {shift['n_before']} before"
        )
        top = _top_evidence(shift_evidence, shift["shift_id"])
        lines.append(line + (f"; top evidence: {quote_text(top)}." if top else "."))
    if shifts.is_empty():
        lines.append(
            "No shift in the tone between two blocs passed the test (a change of at least"
            f" {MIN_DELTA:.2f} with at least {MIN_SIDE_STATEMENTS} statements on each side, p < {ALPHA:g})."
        )
    elif shifts.height > limit:
        more = shifts.height - limit
        lines.append(f"{more} smaller shift{'s are' if more > 1 else ' is'} marked on the timelines below.")
    extremes = _extremes(dyad_totals, blocs, min_statements=min_statements)
    if extremes:
        lines.append(extremes)
    return lines


def _top_evidence(shift_evidence: pl.DataFrame, shift_id: str) -> dict | None:
    if shift_evidence.is_empty():
        return None
    rows = shift_evidence.filter((pl.col("shift_id") == shift_id) & (pl.col("role") == "after"))
    return rows.row(0, named=True) if rows.height else None


def _extremes(dyad_totals: pl.DataFrame, blocs: Sequence[BlocStyle], *, min_statements: int) -> str:
    if dyad_totals.is_empty():
        return ""
    pairs = dyad_totals.filter(
        (pl.col("source_bloc") != pl.col("target_bloc")) & (pl.col("n") >= min_statements)
    ).sort(["mean_tone", "source_bloc", "target_bloc"])
    if pairs.is_empty():
        return f"No pair of blocs has {min_statements} or more statements in this period."
    coldest, warmest = pairs.row(0, named=True), pairs.row(-1, named=True)

    def describe(row: dict) -> str:
        name = dyad_name(row["source_bloc"], row["target_bloc"], blocs)
        return f"{name} {tone_text(row['mean_tone'])} ({row['n']} statements)"

    if pairs.height == 1:
        return f"Only one pair of blocs has {min_statements} or more statements: {describe(coldest)}."
    return (
        f"Over the whole period the coldest pair is {describe(coldest)}; the warmest is {describe(warmest)}."
    )
