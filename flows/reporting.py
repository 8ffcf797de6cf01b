"""Build the report: aggregate the store's tones, hand the frames to the dashboard.

``report_from`` turns a ``ToneSource``'s numbers into the ``ReportData`` the dashboard draws.
``build_report`` is the I/O edge (store in, HTML files out): its source is
``store.ReportReader``, which groups and ranks in DuckDB so that only the points and the
evidence shown leave the store. ``assemble_report`` is the pure route: every row in memory
(``FrameTones``, Polars), the same report; tests/test_report_store.py holds the two equal.
"""

from __future__ import annotations

import errno
import hashlib
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl

from ..dashboards.matrix import MAX_SLIDER_STEPS
from ..dashboards.report import (
    BUILD_KEY_META,
    BlocStyle,
    ReportData,
    render_report_html,
    write_text_atomically,
)
from ..transforms.aggregate import (
    AUTO_GRANULARITY,
    DYAD,
    MIN_STATEMENTS,
    SPEAKER,
    TARGET,
    check_granularity,
    choose_granularity,
    coarser_granularity,
    period_expr,
    select_statements,
    select_target_tones,
    series_from_moments,
    speaker_leaders,
    target_leaders,
    tone_intervals,
    tone_moments,
)
from ..transforms.errors import ReportError
from ..transforms.evidence import (
    EVIDENCE_PER_CELL,
    MENTION_KEY,
    STATEMENT_KEY,
    rank_in_cells,
    shift_evidence,
    shift_windows,
    take_by_rank,
)
from ..transforms.shifts import dyad_period_sums, shifts_from_sums
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
# The cells a statement can be evidence for: a point of a dyad's line, a leaderboard bar (target
# or speaker), an outlet-framing bar; and, for a sentence that only mentions its target, the bar.
STATEMENT_CELLS = (
    ("period", "source_bloc", "target_bloc"),
    ("target_actor",),
    ("source_actor",),
    ("outlet_home", "target_bloc"),
)
SENTENCE_CELLS = (("outlet_home", "target_bloc"),)
# The two kinds of rows a report reads: edges, and mention tones (the outlet framing figure).
STATEMENTS, VOICES = store.STATEMENTS, store.VOICES


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
    key: str | None = None,
) -> tuple[Path, dict[str, float]]:
    """Write the HTML report for the store at ``db_path`` to ``out_path`` and, with ``dated``,
    a dated copy beside it (``tonewatch-YYYY-MM-DDTHHMMSSZ.html``, the newest
    ``KEEP_DATED_REPORTS`` kept); returns ``out_path`` and stage timings. The report carries
    its ``report_key`` (``key``, when the caller has computed it already)."""
    options = ReportOptions(
        since=since, until=until, granularity=granularity, blocs=tuple(blocs), actors=tuple(actors),
        count_duplicates=count_duplicates,
    )  # fmt: skip
    started = time.perf_counter()
    generated_at = datetime.now(UTC)
    with store.open_store(db_path, read_only=True) as con:
        styles = tuple(BlocStyle(*row) for row in store.read_blocs(con))
        check_choices("--blocs", options.blocs, [style.bloc_id for style in styles])
        check_choices("--actors", options.actors, store.read_actor_ids(con))
        stats = store.read_corpus_stats(con, since=since, until=until, count_duplicates=count_duplicates)
        # DuckDB aggregates next to the data: only the figures' points and the evidence shown
        # leave it, so time and memory hardly grow with the store (issue 7).
        reader = store.ReportReader(con, tone_selection(options))
        data = report_from(reader, stats=stats, blocs=styles, options=options, generated_at=generated_at)
        data = replace(data, build_key=key or report_key(con, options))
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


_BUILD_KEY = re.compile(rf'<meta name="{BUILD_KEY_META}" content="([0-9a-f]{{64}})">')
# The key stands in the document's first lines, before the inlined plotly.js.
_HEAD_BYTES = 4096


@cache
def _code_fingerprint() -> str:
    """A digest of tonewatch's own code and plotly's version: new code may draw differently.

    Only the three packages' files: in an editable install their common folder is the whole
    clone (tests, benchmarks, perhaps a virtualenv).
    """
    import plotly

    from .. import dashboards, transforms

    digest = hashlib.sha256(plotly.__version__.encode())
    for package in (Path(__file__), Path(dashboards.__file__), Path(transforms.__file__)):
        for path in sorted(package.resolve().parent.rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def report_key(con: duckdb.DuckDBPyConnection, options: ReportOptions) -> str:
    """What a report is a function of: every row it reads, its options and the code that draws
    it; not the time it is built."""
    material = f"{_code_fingerprint()}|{options!r}|{store.report_inputs_fingerprint(con)}"
    return hashlib.sha256(material.encode()).hexdigest()


def built_key(path: Path) -> str | None:
    """The ``report_key`` the report at ``path`` was built with, if it is a report with one."""
    try:
        with open(path, "rb") as document:
            head = document.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    found = _BUILD_KEY.search(head)
    return found.group(1) if found else None


def stale_report_key(db_path: Path, out_path: Path, *, since: datetime | None = None) -> str | None:
    """The ``report_key`` a report built now at ``out_path`` would carry, or None when the
    report there carries it already: built from these very rows and options by this code."""
    with store.open_store(db_path, read_only=True) as con:
        key = report_key(con, ReportOptions(since=since))
    return None if built_key(Path(out_path)) == key else key


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


class ToneSource(Protocol):
    """Where a report's numbers come from: statements (edges) and voices (mention tones), already
    selected (``store.ToneSelection``), aggregated and ranked as transforms/ does it."""

    def moments(
        self, *, by: Sequence[str], granularity: str | None = None, rows: str = STATEMENTS
    ) -> pl.DataFrame:
        """``tone_moments`` of the statements or the voices."""
        ...

    def dyad_period_sums(self, *, granularity: str) -> pl.DataFrame:
        """``dyad_period_sums`` of the statements."""
        ...

    def scorer_versions(self) -> pl.DataFrame:
        """scorer_version, n: statements per scorer version, most first."""
        ...

    def ranked_evidence(
        self, *, cells: Sequence[Sequence[str]], key: Sequence[str], granularity: str | None = None,
        per_cell: int, rows: str = STATEMENTS, excluding: pl.DataFrame | None = None,
    ) -> pl.DataFrame:  # fmt: skip
        """The rows among the ``per_cell`` strongest of one of their cells, with ``cell_rank``
        (``rank_in_cells``); rows whose ``key`` is in ``excluding`` are left out first."""
        ...

    def shift_window_rows(self, windows: pl.DataFrame) -> pl.DataFrame:
        """The statements (at least) inside the windows ``shift_windows`` gives."""
        ...


@dataclass(frozen=True)
class FrameTones:
    """The same numbers computed by Polars from rows in memory (``select_statements`` and
    ``select_target_tones`` already applied). Pure."""

    statements: pl.DataFrame
    voices: pl.DataFrame

    def _rows(self, rows: str) -> pl.LazyFrame:
        return (self.statements if rows == STATEMENTS else self.voices).lazy()

    def moments(
        self, *, by: Sequence[str], granularity: str | None = None, rows: str = STATEMENTS
    ) -> pl.DataFrame:
        return tone_moments(self._rows(rows), by=by, granularity=granularity)

    def dyad_period_sums(self, *, granularity: str) -> pl.DataFrame:
        return dyad_period_sums(self.statements.lazy(), granularity=granularity)

    def scorer_versions(self) -> pl.DataFrame:
        if "scorer_version" not in self.statements.columns:
            return pl.DataFrame(schema={"scorer_version": pl.Utf8, "n": pl.Int64})
        return (
            self.statements.group_by("scorer_version")
            .agg(pl.len().cast(pl.Int64).alias("n"))
            .sort(["n", "scorer_version"], descending=[True, False])
        )

    def ranked_evidence(
        self, *, cells: Sequence[Sequence[str]], key: Sequence[str], granularity: str | None = None,
        per_cell: int, rows: str = STATEMENTS, excluding: pl.DataFrame | None = None,
    ) -> pl.DataFrame:  # fmt: skip
        frame = self._rows(rows)
        if granularity is not None:
            frame = frame.with_columns(period_expr(granularity))
        if excluding is not None:
            frame = frame.join(excluding.lazy().select(key), on=list(key), how="anti")
        ranked = rank_in_cells(frame, cells=cells, key=key)
        return ranked.filter(pl.col("cell_rank") < per_cell).collect()

    def shift_window_rows(self, windows: pl.DataFrame) -> pl.DataFrame:
        return self.statements  # all of them: shift_evidence keeps those inside the windows


def assemble_report(
    edges: pl.DataFrame,
    tones: pl.DataFrame,
    *,
    stats: dict[str, object],
    blocs: tuple[BlocStyle, ...],
    options: ReportOptions,
    generated_at: datetime,
) -> ReportData:
    """Everything the report draws, from the store's edges and mention tones (frames shaped like
    ``tests/report_corpus.edges_and_tones``'s) in memory. Pure."""
    selection = {
        "blocs": options.blocs,
        "actors": options.actors,
        "count_duplicates": options.count_duplicates,
    }
    statements = select_statements(_within(edges.lazy(), options), **selection).collect()
    voices = select_target_tones(_within(tones.lazy(), options), **selection).collect()
    return report_from(
        FrameTones(statements, voices), stats=stats, blocs=blocs, options=options, generated_at=generated_at
    )


def report_from(
    tones: ToneSource,
    *,
    stats: dict[str, object],
    blocs: tuple[BlocStyle, ...],
    options: ReportOptions,
    generated_at: datetime,
) -> ReportData:
    """Everything the report draws, from the numbers ``tones`` gives (in memory or in the store)."""
    start, end = _period(options, stats)
    granularity = options.granularity
    if granularity == AUTO_GRANULARITY:
        granularity = choose_granularity(start, end)
    dyads = list(DYAD)
    shifts = shifts_from_sums(tones.dyad_period_sums(granularity=granularity), granularity=granularity)
    dyad_series = _series(tones, by=dyads, granularity=granularity, fill_empty=True)
    matrix_granularity = granularity
    matrix_series = dyad_series
    while _period_count(matrix_series) > MAX_SLIDER_STEPS and coarser_granularity(matrix_granularity):
        matrix_granularity = coarser_granularity(matrix_granularity) or matrix_granularity
        matrix_series = _series(tones, by=dyads, granularity=matrix_granularity)
    totals = tone_intervals(tones.moments(by=dyads))
    return ReportData(
        title=options.title,
        generated_at=generated_at,
        scorer_version=_scorer_version(str(stats["scorer_version"]), tones.scorer_versions()),
        period_start=start,
        period_end=end,
        articles=int(stats["articles"]),  # type: ignore[call-overload]
        outlets=int(stats["outlets"]),  # type: ignore[call-overload]
        sentences=int(stats["sentences"]),  # type: ignore[call-overload]
        edges=int(totals["n"].sum()),
        blocs=blocs,
        bloc_series=_series(tones, by=["target_bloc"], granularity=granularity, fill_empty=True),
        dyad_series=dyad_series,
        dyad_totals=totals,
        evidence=_evidence(tones, granularity=granularity),
        granularity=granularity,
        min_statements=MIN_STATEMENTS,
        shifts=shifts,
        shift_evidence=_utc(_shift_evidence(tones, shifts, granularity=granularity)),
        framing=tone_intervals(tones.moments(by=["outlet_home", "target_bloc"], rows=VOICES)),
        target_leaders=target_leaders(tone_intervals(tones.moments(by=TARGET))),
        speaker_leaders=speaker_leaders(tones.moments(by=SPEAKER)),
        filters=_filter_notes(options, blocs),
        matrix_series=matrix_series,
        matrix_granularity=matrix_granularity,
    )


def tone_selection(options: ReportOptions) -> store.ToneSelection:
    """The store's selection for ``options``: what ``select_statements`` picks in memory."""
    return store.ToneSelection(
        since=options.since, until=options.until, count_duplicates=options.count_duplicates,
        blocs=options.blocs, actors=options.actors,
    )  # fmt: skip


def _series(
    tones: ToneSource, *, by: Sequence[str], granularity: str, fill_empty: bool = False
) -> pl.DataFrame:
    moments = tones.moments(by=by, granularity=granularity)
    return series_from_moments(moments, by=by, granularity=granularity, fill_empty=fill_empty)


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


def _evidence(tones: ToneSource, *, granularity: str) -> pl.DataFrame:
    """The strongest statements behind every point, then the strongest sentences behind each
    outlet-framing bar that the statements do not already show."""
    statements = tones.ranked_evidence(
        cells=STATEMENT_CELLS, key=STATEMENT_KEY, granularity=granularity, per_cell=EVIDENCE_PER_CELL
    )
    chosen = take_by_rank(statements.lazy(), key=STATEMENT_KEY).select(EVIDENCE_COLUMNS)
    voices = tones.ranked_evidence(
        cells=SENTENCE_CELLS, key=MENTION_KEY, per_cell=EVIDENCE_PER_CELL, rows=VOICES,
        excluding=chosen.select(MENTION_KEY),
    )  # fmt: skip
    sentences = take_by_rank(voices.lazy(), key=MENTION_KEY).select(EVIDENCE_COLUMNS)
    combined = pl.concat(
        [chosen.with_columns(kind=pl.lit("statement")), sentences.with_columns(kind=pl.lit("sentence"))]
    )
    strongest = combined.with_columns(strength=pl.col("score").abs()).sort(
        ["strength", "published_at"], descending=[True, True], maintain_order=True
    )
    return _utc(strongest.drop("strength"))


def _shift_evidence(tones: ToneSource, shifts: pl.DataFrame, *, granularity: str) -> pl.DataFrame:
    rows = tones.shift_window_rows(shift_windows(shifts, granularity=granularity))
    return shift_evidence(rows.lazy().select(EVIDENCE_COLUMNS), shifts, granularity=granularity)


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("published_at").dt.convert_time_zone("UTC"))


def _scorer_version(latest: str, versions: pl.DataFrame) -> str:
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
