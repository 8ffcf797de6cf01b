"""Build the report: read the store, aggregate with Polars, hand frames to the dashboard.

``build_report`` is the I/O edge (store in, HTML files out); ``assemble_report`` is pure:
the frames the store returned in, the ``ReportData`` the dashboard draws out.
"""

from __future__ import annotations

import errno
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from ..dashboards.matrix import MAX_SLIDER_STEPS
from ..dashboards.report import BlocStyle, ReportData, render_report_html, write_text_atomically
from ..transforms.aggregate import (
    AUTO_GRANULARITY,
    MIN_STATEMENTS,
    check_granularity,
    choose_granularity,
    coarser_granularity,
    dyad_totals,
    period_expr,
    select_statements,
    select_target_tones,
    speaker_leaderboard,
    target_leaderboard,
    tone_series,
    tone_totals,
)
from ..transforms.errors import ReportError
from ..transforms.evidence import MENTION_KEY, select_evidence, shift_evidence
from ..transforms.shifts import detect_shifts
from . import store

DEFAULT_TITLE = "tonewatch: tone between Washington, Moscow and Kyiv"
DATED_PREFIX = "tonewatch-"
# An hourly deployment writes a dated copy per run: keep about a day and a half of them.
KEEP_DATED_REPORTS = 36
_DATED_NAME = re.compile(rf"{DATED_PREFIX}\d{{4}}-\d{{2}}-\d{{2}}T\d{{6}}Z\.html")
EVIDENCE_COLUMNS = (
    "published_at", "outlet", "outlet_home", "title", "url", "sentence", "speaker", "source_actor",
    "source_bloc", "target", "target_actor", "target_bloc", "score", "article_id", "sentence_idx",
)  # fmt: skip


@dataclass(frozen=True)
class ReportOptions:
    """What a report covers: the period, its granularity, blocs, actors and duplicate counting."""

    since: datetime | None = None
    until: datetime | None = None
    granularity: str = AUTO_GRANULARITY
    blocs: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    count_duplicates: bool = False
    title: str = DEFAULT_TITLE

    def __post_init__(self) -> None:
        if self.granularity != AUTO_GRANULARITY:
            check_granularity(self.granularity)
        if self.since and self.until and self.since >= self.until:
            raise ValueError(
                f"--since ({self.since:%Y-%m-%d}) must be before --until ({self.until:%Y-%m-%d})"
            )


def build_report(
    db_path: Path,
    out_path: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    granularity: str = AUTO_GRANULARITY,
    blocs: Sequence[str] = (),
    actors: Sequence[str] = (),
    count_duplicates: bool = False,
    dated: bool = True,
) -> tuple[Path, dict[str, float]]:
    """Write the HTML report for the store at ``db_path`` to ``out_path`` and, with ``dated``,
    a dated copy beside it (``tonewatch-YYYY-MM-DDTHHMMSSZ.html``, the newest
    ``KEEP_DATED_REPORTS`` kept); returns ``out_path`` and stage timings."""
    options = ReportOptions(
        since=since, until=until, granularity=granularity, blocs=tuple(blocs), actors=tuple(actors),
        count_duplicates=count_duplicates,
    )  # fmt: skip
    started = time.perf_counter()
    with store.open_store(db_path, read_only=True) as con:
        edges = store.read_edges(con, since=since, until=until, count_duplicates=True)
        tones = store.read_target_tones(con, since=since, until=until)
        stats = store.read_corpus_stats(con, since=since, until=until, count_duplicates=count_duplicates)
        styles = tuple(BlocStyle(*row) for row in store.read_blocs(con))
        check_choices("--blocs", options.blocs, [style.bloc_id for style in styles])
        check_choices("--actors", options.actors, store.read_actor_ids(con))
    generated_at = datetime.now(UTC)
    data = assemble_report(
        edges, tones, stats=stats, blocs=styles, options=options, generated_at=generated_at
    )
    aggregated = time.perf_counter()
    document = render_report_html(data)
    try:
        path = write_text_atomically(document, Path(out_path))
        if dated:
            dated_path = path.parent / f"{DATED_PREFIX}{generated_at:%Y-%m-%dT%H%M%SZ}.html"
            write_text_atomically(document, dated_path)
            prune_dated_reports(path.parent)
    except OSError as exc:  # a file where the folder should be, a read-only or full disk
        raise ReportError(
            f"{exc.filename or out_path}: cannot write the report: {exc.strerror or exc}"
        ) from None
    finished = time.perf_counter()
    return path, {"aggregate": aggregated - started, "report": finished - aggregated}


_WINDOW = re.compile(r"^(\d+)d$")


def report_window_start(since: str | None, *, now: datetime) -> datetime | None:
    """``--since`` as a UTC start: a date (2025-01-01), or a window of days before ``now`` (90d).

    A window is what a scheduled run wants: the report keeps covering the last 90 days.
    """
    if since is None:
        return None
    window = _WINDOW.match(since.strip())
    if window:
        day = (now.astimezone(UTC) - timedelta(days=int(window.group(1)))).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise ValueError(
            f"--since: expected a date like 2025-01-01 or a window like 90d, got {since!r}"
        ) from None
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


def check_report_path(out_path: Path) -> None:
    """Raise ``ReportError`` unless a report can be written at ``out_path`` (checked before a run
    changes the store, so a run that could not publish its report changes nothing)."""
    folder = Path(out_path).parent
    try:
        if Path(out_path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file name", str(out_path))
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tonewatch-", suffix=".check"):
            pass
    except OSError as exc:
        raise ReportError(
            f"{exc.filename or out_path}: cannot write the report: {exc.strerror or exc}"
        ) from None


def check_choices(option: str, chosen: Sequence[str], known: Sequence[str]) -> None:
    """A ValueError naming the option, the unknown values and the known ones."""
    unknown = [value for value in chosen if value not in known]
    if unknown:
        raise ValueError(
            f"{option}: unknown {', '.join(map(repr, unknown))}; the store knows {', '.join(known) or 'none'}"
        )


def prune_dated_reports(folder: Path, *, keep: int = KEEP_DATED_REPORTS) -> list[Path]:
    """Delete all but the newest ``keep`` dated reports in ``folder``; returns what was deleted."""
    dated = sorted(p for p in folder.iterdir() if _DATED_NAME.fullmatch(p.name))
    stale = dated[:-keep] if keep > 0 else dated
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def assemble_report(
    edges: pl.DataFrame,
    tones: pl.DataFrame,
    *,
    stats: dict[str, object],
    blocs: tuple[BlocStyle, ...],
    options: ReportOptions,
    generated_at: datetime,
) -> ReportData:
    """Everything the report draws, from the store's edges and mention tones. Pure."""
    selection = {
        "blocs": options.blocs,
        "actors": options.actors,
        "count_duplicates": options.count_duplicates,
    }
    statements = select_statements(_within(edges.lazy(), options), **selection).collect()
    voices = select_target_tones(_within(tones.lazy(), options), **selection).collect()
    start, end = _period(options, stats)
    granularity = options.granularity
    if granularity == AUTO_GRANULARITY:
        granularity = choose_granularity(start, end)
    lazy = statements.lazy()
    dyads = ["source_bloc", "target_bloc"]
    shifts = detect_shifts(lazy, granularity=granularity)
    dyad_series = tone_series(lazy, by=dyads, granularity=granularity, fill_empty=True)
    matrix_granularity = granularity
    matrix_series = dyad_series
    while _period_count(matrix_series) > MAX_SLIDER_STEPS and coarser_granularity(matrix_granularity):
        matrix_granularity = coarser_granularity(matrix_granularity) or matrix_granularity
        matrix_series = tone_series(lazy, by=dyads, granularity=matrix_granularity)
    return ReportData(
        title=options.title,
        generated_at=generated_at,
        scorer_version=_scorer_version(str(stats["scorer_version"]), statements),
        period_start=start,
        period_end=end,
        articles=int(stats["articles"]),  # type: ignore[call-overload]
        outlets=int(stats["outlets"]),  # type: ignore[call-overload]
        sentences=int(stats["sentences"]),  # type: ignore[call-overload]
        edges=statements.height,
        blocs=blocs,
        bloc_series=tone_series(lazy, by=["target_bloc"], granularity=granularity, fill_empty=True),
        dyad_series=dyad_series,
        dyad_totals=dyad_totals(lazy),
        evidence=_evidence(lazy, voices.lazy(), granularity=granularity),
        granularity=granularity,
        min_statements=MIN_STATEMENTS,
        shifts=shifts,
        shift_evidence=_utc(shift_evidence(lazy.select(EVIDENCE_COLUMNS), shifts, granularity=granularity)),
        framing=tone_totals(voices.lazy(), by=["outlet_home", "target_bloc"]),
        target_leaders=target_leaderboard(lazy),
        speaker_leaders=speaker_leaderboard(lazy),
        filters=_filter_notes(options, blocs),
        matrix_series=matrix_series,
        matrix_granularity=matrix_granularity,
    )


def _period_count(series: pl.DataFrame) -> int:
    return series.filter(pl.col("n") > 0)["period"].n_unique() if not series.is_empty() else 0


def _within(frame: pl.LazyFrame, options: ReportOptions) -> pl.LazyFrame:
    """The rows published in [since, until): the store reads only those, frames from elsewhere may not."""
    published = pl.col("published_at").dt.convert_time_zone("UTC")
    if options.since is not None:
        frame = frame.filter(published >= _utc_literal(options.since))
    if options.until is not None:
        frame = frame.filter(published < _utc_literal(options.until))
    return frame


def _utc_literal(moment: datetime) -> pl.Expr:
    # A bare datetime is UTC, as a bare --since day is.
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return pl.lit(moment.astimezone(UTC), dtype=pl.Datetime("us", "UTC"))


def _period(options: ReportOptions, stats: dict[str, object]) -> tuple[date | None, date | None]:
    start: date | None = stats["period_start"]  # type: ignore[assignment]
    end: date | None = stats["period_end"]  # type: ignore[assignment]
    if options.since is not None:
        start = options.since.date()
    if options.until is not None:
        end = (options.until - timedelta(microseconds=1)).date()
    return start, end


def _evidence(statements: pl.LazyFrame, voices: pl.LazyFrame, *, granularity: str) -> pl.DataFrame:
    """The strongest statements behind every point, then the strongest sentences behind each
    outlet-framing bar that the statements do not already show."""
    chosen = select_evidence(
        statements.select(EVIDENCE_COLUMNS).with_columns(period_expr(granularity)),
        cells=[
            ["period", "source_bloc", "target_bloc"],
            ["target_actor"],
            ["source_actor"],
            ["outlet_home", "target_bloc"],
        ],
    ).drop("period")
    sentences = select_evidence(
        voices.select(EVIDENCE_COLUMNS).join(
            chosen.lazy().select(MENTION_KEY), on=list(MENTION_KEY), how="anti"
        ),
        cells=[["outlet_home", "target_bloc"]],
        key=MENTION_KEY,
    )
    combined = pl.concat(
        [chosen.with_columns(kind=pl.lit("statement")), sentences.with_columns(kind=pl.lit("sentence"))]
    )
    strongest = combined.with_columns(strength=pl.col("score").abs()).sort(
        ["strength", "published_at"], descending=[True, True], maintain_order=True
    )
    return _utc(strongest.drop("strength"))


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("published_at").dt.convert_time_zone("UTC"))


def _scorer_version(latest: str, statements: pl.DataFrame) -> str:
    if statements.is_empty() or "scorer_version" not in statements.columns:
        return latest
    versions = statements["scorer_version"].value_counts(sort=True)
    if versions.height <= 1:
        return str(versions.item(0, 0)) if versions.height else latest
    listed = ", ".join(f"{v} ({n:,} edges)" for v, n in versions.iter_rows())
    return f"{latest} (the data mixes {versions.height} versions: {listed})"


def _filter_notes(options: ReportOptions, blocs: tuple[BlocStyle, ...]) -> tuple[str, ...]:
    names = {style.bloc_id: style.name for style in blocs}
    notes = []
    if options.blocs:
        chosen = ", ".join(names.get(b, b) for b in options.blocs)
        notes.append(f"Only statements between {chosen} (--blocs).")
    if options.actors:
        notes.append(f"Only statements by or about {', '.join(options.actors)} (--actors).")
    if options.count_duplicates:
        notes.append("Every syndicated copy of a story counts (--count-duplicates).")
    return tuple(notes)
