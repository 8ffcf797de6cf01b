"""The DuckDB store: schema, migrations, bulk writes and the reads the report needs.

All SQL lives here. Values are always bound parameters; table data goes in as Arrow.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from ..transforms.analyze import BatchRows
from ..transforms.dedup import NUM_PERM, duplicate_roots
from ..transforms.errors import StoreError
from ..transforms.records import Article, Reject
from ..transforms.registry import Registry
from .settings import BUSY_TIMEOUT_ENV_VAR, DEFAULT_BUSY_TIMEOUT_SECONDS, DEFAULT_WRITE_BUSY_TIMEOUT_SECONDS

_MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        """
        create table articles (
            article_id varchar primary key,
            url varchar,
            outlet varchar not null,
            outlet_home varchar not null,
            published_at timestamptz not null,
            title varchar not null,
            text varchar not null,
            language varchar not null,
            content_hash varchar not null,
            dup_of varchar,
            source varchar,
            is_sample boolean not null default false,
            scorer_version varchar,
            ingested_at timestamptz not null,
            updated_at timestamptz not null
        );
        create table sentences (
            article_id varchar not null,
            sentence_idx integer not null,
            start integer not null,
            "end" integer not null,
            text varchar not null,
            speaker_actor varchar,
            attribution varchar not null,
            compound double not null,
            scorer_version varchar not null
        );
        create table mentions (
            article_id varchar not null,
            sentence_idx integer not null,
            mention_idx integer not null,
            actor_id varchar not null,
            start integer not null,
            "end" integer not null,
            surface varchar not null,
            target_score double not null,
            scorer_version varchar not null
        );
        create table edges (
            article_id varchar not null,
            sentence_idx integer not null,
            published_at timestamptz not null,
            source_actor varchar not null,
            source_bloc varchar not null,
            target_actor varchar not null,
            target_bloc varchar not null,
            score double not null,
            method varchar not null,
            scorer_version varchar not null
        );
        create table actors (
            actor_id varchar primary key,
            name varchar not null,
            kind varchar not null,
            bloc varchar not null,
            aliases varchar[] not null
        );
        create table blocs (
            bloc_id varchar primary key,
            name varchar not null,
            color varchar not null
        );
        create table runs (
            run_id varchar primary key,
            flow varchar not null,
            started_at timestamptz not null,
            finished_at timestamptz,
            status varchar not null,
            articles_seen integer,
            articles_new integer,
            articles_changed integer,
            articles_rescored integer,
            articles_unchanged integer,
            sentences_scored integer,
            mentions_found integer,
            edges_found integer,
            rejects integer,
            scorer_version varchar,
            seconds double
        );
        create table rejects (
            run_id varchar,
            source varchar not null,
            reason varchar not null,
            detail varchar,
            rejected_at timestamptz not null
        );
        create index sentences_article on sentences (article_id);
        create index mentions_article on mentions (article_id);
        create index edges_article on edges (article_id);
        create view counted_edges as
            select e.* from edges e join articles a using (article_id) where a.dup_of is null;
        create view bloc_daily as
            select date_trunc('day', published_at)::date as day, target_bloc,
                   avg(score) as mean_tone, count(*) as n, stddev_samp(score) as sd,
                   avg(score) - 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_low,
                   avg(score) + 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_high
            from counted_edges group by all;
        create view dyad_daily as
            select date_trunc('day', published_at)::date as day, source_bloc, target_bloc,
                   avg(score) as mean_tone, count(*) as n, stddev_samp(score) as sd,
                   avg(score) - 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_low,
                   avg(score) + 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_high
            from counted_edges group by all;
        create view dyad_weekly as
            select date_trunc('week', published_at)::date as week, source_bloc, target_bloc,
                   avg(score) as mean_tone, count(*) as n, stddev_samp(score) as sd,
                   avg(score) - 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_low,
                   avg(score) + 1.96 * stddev_samp(score) / sqrt(count(*)) as ci_high
            from counted_edges group by all;
        create view actor_daily as
            select date_trunc('day', a.published_at)::date as day, m.actor_id,
                   avg(m.target_score) as mean_tone, count(*) as n
            from mentions m join articles a using (article_id)
            where a.dup_of is null group by all;
        """,
    ),
    (
        2,
        "ingest: author and flags, fetch state, URL aliases, near-duplicate bands",
        """
        alter table articles add column author varchar;
        alter table articles add column is_summary boolean not null default false;
        alter table articles add column is_undated boolean not null default false;
        alter table runs add column articles_not_english integer;
        alter table runs add column sources_not_modified integer;
        alter table runs add column links_skipped integer;
        create table article_urls (
            url varchar primary key,
            article_id varchar not null
        );
        create table fetch_state (
            url varchar primary key,
            etag varchar,
            last_modified varchar,
            http_status integer,
            outcome varchar not null,
            checked_at timestamptz not null
        );
        create table article_bands (
            article_id varchar not null,
            bucket bigint not null
        );
        create table near_duplicates (
            article_id varchar not null,
            other_id varchar not null,
            jaccard double not null
        );
        """,
    ),
    (
        3,
        "source files: skip unchanged files before reading them",
        """
        create table source_files (
            path varchar primary key,
            size_bytes bigint not null,
            modified_ns bigint not null,
            scorer_version varchar not null,
            articles integer not null,
            checked_at timestamptz not null
        );
        """,
    ),
    (
        4,
        "near-duplicate signatures: estimate similarity before reading texts",
        """
        create table article_signatures (
            article_id varchar primary key,
            signature blob not null
        );
        """,
    ),
    (
        5,
        "runs: rejects by reason, tone shifts, report path, Prefect flow run; dyad_weekly as last run saw it",
        """
        alter table runs add column reject_reasons varchar;
        alter table runs add column tone_shifts varchar;
        alter table runs add column report_path varchar;
        alter table runs add column prefect_flow_run_id varchar;
        create table dyad_weekly_snapshot (
            week date not null,
            source_bloc varchar not null,
            target_bloc varchar not null,
            mean_tone double not null,
            n bigint not null
        );
        """,
    ),
]
# The newest schema this code knows: the last migration's version.
SCHEMA_VERSION = _MIGRATIONS[-1][0]
# DuckDB's buffer pool otherwise grows toward 80% of RAM. A unit's write reads the whole band
# and signature tables (the near-duplicate probe), and kept them cached until the connection
# closed, during the next unit's analysis: at 100,000 stored articles that was 330 MB of the
# run's peak (1 GB allowed). With 256 MB the blocks are evicted and re-read from the file
# instead (measured: no slower); batches are small, and what does not fit spills to disk.
DUCKDB_MEMORY_LIMIT = "256MB"
# Rows per row group the flow writes (DuckDB's default is 122,880). Each unit's close
# checkpoints, and a checkpoint rewrites the row group that the unit appended to: with the
# default, a table's whole tail since its last full row group, again at every unit (all
# the articles' texts, until 122,880 articles). Measured on 20 units of the benchmark's
# articles, sentences and mentions: 2.8-2.9 s of checkpoints with the default, 1.5 s at
# 16,384, 1.2-1.4 s at 8,192, 1.0 s at 4,096; scans no slower, the file 15% smaller.
WRITE_ROW_GROUP_ROWS = 8192
# The name a writing connection gives the attached file (see ``_attach_writable``).
STORE_CATALOG = "tonewatch_store"

_T = TypeVar("_T")


@dataclass(frozen=True)
class StoredState:
    """What the store already holds for an article: enough to skip or re-score it."""

    content_hash: str
    scorer_version: str | None


def _is_busy(exc: Exception) -> bool:
    """DuckDB refused the file because another process holds it (measured with duckdb 1.x and 2.0:
    a writer locks out every other process, readers included; readers lock out writers only)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _busy_or_broken(path: Path, exc: Exception, *, waited_seconds: float = 0.0) -> StoreError:
    message = str(exc).splitlines()[0]
    if _is_busy(exc):
        return StoreError(
            f"{path}: the database is busy (another process is writing to it, e.g. a tonewatch run);"
            f" waited {waited_seconds:.0f} s, retry later"
        )
    return StoreError(f"{path}: cannot open the database: {message}")


# What a write fails with when the disk is full or read-only ("Failed to commit: Could not
# write file …: No space left on device"): DuckDB's message names the file and the error.
_WRITE_FAILURES = (duckdb.IOException, duckdb.FatalException, duckdb.TransactionException)


def _store_error(path: Path, exc: duckdb.Error) -> StoreError:
    """``exc`` as a StoreError naming the file, with DuckDB's first line."""
    return StoreError(f"{path}: {str(exc).splitlines()[0]}")


def busy_timeout_seconds(*, read_only: bool) -> float:
    """How long opening a busy database is retried: ``$TONEWATCH_BUSY_TIMEOUT_SECONDS``, else
    10 s to read and 60 s to write."""
    value = os.environ.get(BUSY_TIMEOUT_ENV_VAR)
    default = DEFAULT_BUSY_TIMEOUT_SECONDS if read_only else DEFAULT_WRITE_BUSY_TIMEOUT_SECONDS
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        raise StoreError(f"${BUSY_TIMEOUT_ENV_VAR}: expected a number of seconds, got {value!r}") from None


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect, retrying while another process holds the file: a run holds it only for short
    write transactions, so a reader (or the next batch) usually gets in within a second."""
    if read_only:
        return _while_busy(path, read_only=True, attempt=lambda: _open_read_only(path))
    return _while_busy(path, read_only=False, attempt=lambda: _attach_writable(path))


def _while_busy(path: Path, *, read_only: bool, attempt: Callable[[], _T]) -> _T:
    """``attempt()``, retried every 50 to 500 ms while another process holds the file, until
    the busy timeout; any other failure, or the timeout, is a StoreError naming the file."""
    timeout = busy_timeout_seconds(read_only=read_only)
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            return attempt()
        except duckdb.Error as exc:
            waited = time.monotonic() - started
            if not _is_busy(exc) or waited >= timeout:
                raise _busy_or_broken(path, exc, waited_seconds=waited) from exc
            time.sleep(min(delay, timeout - waited))
            delay = min(delay * 2, 0.5)


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True, config={"memory_limit": DUCKDB_MEMORY_LIMIT})


def _attach_writable(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection writing to ``path`` in row groups of ``WRITE_ROW_GROUP_ROWS`` rows.

    The row group size is an option of ATTACH, not of ``duckdb.connect``, so the file is
    attached to an in-memory connection and made its default catalog. Closing the
    connection checkpoints the file as before.
    """
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    try:
        _attach_file(con, path)
    except BaseException:
        con.close()
        raise
    return con


def _attach_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(f"attach {_sql_string(str(path))} as {STORE_CATALOG} (row_group_size {WRITE_ROW_GROUP_ROWS})")
    con.execute(f"use {STORE_CATALOG}")


class AttachedStore:
    """A run's writes: one in-memory DuckDB instance for the whole run, to which the store file
    is attached for each write and detached after it.

    Detaching checkpoints the file and releases its lock, as closing a connection does, so
    readers get in between writes as before. What it saves is the instance: starting one
    took 12-30 ms (DuckDB 2.0, 2 cores), attaching the file to a running one about 2 ms, and
    a run at 10,000 articles writes 20 units. Use it from one thread at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self.attached = False

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection with the file attached (attached now unless it still is), migrated;
        errors become StoreErrors naming the file, and a failed write detaches it at once."""
        con = self._attach()
        try:
            yield con
        except _WRITE_FAILURES as exc:
            self._abandon()
            raise _store_error(self.path, exc) from exc
        except BaseException:
            self._abandon()
            raise

    def detach(self) -> None:
        """Checkpoint the file and release it (a full disk can fail here too), on one thread:
        the flow detaches on a thread of its own while the next unit is analysed, and a
        checkpoint on all cores would take the analysis's core too."""
        if not self.attached or self._con is None:
            return
        self.attached = False
        try:
            self._con.execute("use memory")
            self._con.execute("set threads = 1")
            self._con.execute(f"detach {STORE_CATALOG}")
        except duckdb.Error as exc:
            self.close()
            raise _store_error(self.path, exc) from exc

    def close(self) -> None:
        """Detach the file if it is attached and stop the instance."""
        con, self._con = self._con, None
        if con is not None:
            self.attached = False
            con.close()

    def _attach(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
        con = self._con
        if not self.attached:
            con.execute("reset threads")  # the writes on all cores, after a detach on one
            _make_folder(self.path)
            _while_busy(self.path, read_only=False, attempt=lambda: _attach_file(con, self.path))
            self.attached = True
            try:
                migrate(con, self.path)
            except BaseException:
                self._abandon()
                raise
        return con

    def _abandon(self) -> None:
        """After a failure: the instance is closed, whatever state DuckDB left it in."""
        with suppress(duckdb.Error):
            self.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()) -> tuple:
    """The first row of a query (all-null when empty); fetches all so the result is finished."""
    rows = con.execute(sql, list(parameters)).fetchall()
    return tuple(rows[0]) if rows else (None,) * len(con.description or ())


def _frame(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()) -> pl.DataFrame:
    """A query's result as a Polars frame, through Arrow (no row-by-row conversion)."""
    relation = con.sql(sql, params=list(parameters) or None)
    if relation is None:
        return pl.DataFrame()
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    frame = pl.from_arrow(fetch())
    assert isinstance(frame, pl.DataFrame)
    return frame


@contextmanager
def open_store(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file (migrating it when writable) and close it afterwards."""
    if read_only and not path.exists():
        raise StoreError(f"{path}: no such database; run `tonewatch demo` or `tonewatch run` first")
    if not read_only:
        _make_folder(path)
    con = _connect(path, read_only=read_only)
    failed = False
    try:
        if read_only:
            _check_version(con, path)
        else:
            migrate(con, path)
        yield con
    except _WRITE_FAILURES as exc:
        failed = True
        raise _store_error(path, exc) from exc
    except BaseException:
        failed = True
        raise
    finally:
        try:
            con.close()  # checkpoints: a full disk can fail here too
        except duckdb.Error as exc:
            if not failed:
                raise _store_error(path, exc) from exc


def _make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its folder: {exc.strerror or exc}") from None


def _check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version} is newer than this tonewatch ({SCHEMA_VERSION})")


def _is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store's schema is this code's, asked in one query."""
    try:
        return _one(con, "select max(version) from schema_migrations")[0] == SCHEMA_VERSION
    except duckdb.CatalogException:
        return False  # a new file: no migrations table yet


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = _one(
        con, "select count(*) from information_schema.tables where table_name = 'schema_migrations'"
    )
    if not exists[0]:
        return 0
    return int(_one(con, "select max(version) from schema_migrations")[0] or 0)


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Apply each pending migration once, in order, each in its own transaction."""
    if _is_current(con):
        return  # what nearly every open finds: one query, nothing written
    con.execute(
        "create table if not exists schema_migrations"
        " (version integer primary key, name varchar, applied_at timestamptz)"
    )
    _check_version(con, path)
    current = schema_version(con)
    for version, name, sql in _MIGRATIONS:
        if version <= current:
            continue
        con.execute("begin transaction")
        try:
            con.execute(sql)
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, name, datetime.now(UTC)])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise


def sync_registry(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Replace the actors and blocs tables with the registry in use."""
    actors = pl.DataFrame(
        {
            "actor_id": [a.actor_id for a in registry.actors.values()],
            "name": [a.name for a in registry.actors.values()],
            "kind": [a.kind for a in registry.actors.values()],
            "bloc": [a.bloc for a in registry.actors.values()],
            "aliases": [list(a.aliases) for a in registry.actors.values()],
        },
        schema={
            "actor_id": pl.Utf8,
            "name": pl.Utf8,
            "kind": pl.Utf8,
            "bloc": pl.Utf8,
            "aliases": pl.List(pl.Utf8),
        },
    ).to_arrow()
    blocs = pl.DataFrame(
        {
            "bloc_id": [b.bloc_id for b in registry.blocs],
            "name": [b.name for b in registry.blocs],
            "color": [b.color for b in registry.blocs],
        },
        schema={"bloc_id": pl.Utf8, "name": pl.Utf8, "color": pl.Utf8},
    ).to_arrow()
    with transaction(con):
        con.execute("delete from actors")
        con.register("actors_batch", actors)
        con.execute("insert into actors select actor_id, name, kind, bloc, aliases from actors_batch")
        con.unregister("actors_batch")
        con.execute("delete from blocs")
        con.register("blocs_batch", blocs)
        con.execute("insert into blocs select bloc_id, name, color from blocs_batch")
        con.unregister("blocs_batch")


# Connections (by id) inside ``transaction``: a transaction opened within one joins it.
_in_transaction: set[int] = set()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction; inside another on the same connection, part of that one. So each
    write is atomic alone, and the flow can make all of a unit's writes one transaction."""
    if id(con) in _in_transaction:
        yield
        return
    con.execute("begin transaction")
    _in_transaction.add(id(con))
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        _in_transaction.discard(id(con))
    con.execute("commit")


def stored_states(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, StoredState]:
    """The stored hash and scorer version of each of ``article_ids`` that is in the store."""
    if not article_ids:
        return {}
    ids = pl.DataFrame({"article_id": list(article_ids)}).to_arrow()
    con.register("wanted_ids", ids)
    try:
        rows = con.execute(
            "select a.article_id, a.content_hash, a.scorer_version"
            " from articles a join wanted_ids w using (article_id)"
        ).fetchall()
    finally:
        con.unregister("wanted_ids")
    return {row[0]: StoredState(row[1], row[2]) for row in rows}


_ARTICLE_SCHEMA = {
    "article_id": pl.Utf8,
    "url": pl.Utf8,
    "outlet": pl.Utf8,
    "outlet_home": pl.Utf8,
    "published_at": pl.Datetime("us", "UTC"),
    "title": pl.Utf8,
    "text": pl.Utf8,
    "language": pl.Utf8,
    "content_hash": pl.Utf8,
    "source": pl.Utf8,
    "is_sample": pl.Boolean,
    "author": pl.Utf8,
    "is_summary": pl.Boolean,
    "is_undated": pl.Boolean,
}


def _articles_frame(articles: Sequence[Article]) -> pl.DataFrame:
    return pl.DataFrame(
        {name: [getattr(a, name) for a in articles] for name in _ARTICLE_SCHEMA},
        schema=_ARTICLE_SCHEMA,
    )


def _any_stored(con: duckdb.DuckDBPyConnection, batch: str) -> bool:
    """Whether any article of the registered ``batch`` (an ``article_id`` column) is stored."""
    return bool(
        _one(
            con,
            f"select exists (select 1 from {batch} where article_id in (select article_id from articles))",
        )[0]
    )


@dataclass(frozen=True)
class RowFrames:
    """A unit's sentence, mention and edge rows as Polars frames, ready for ``write_batch``.

    Built where the unit is analysed: a scoring pool's worker then sends them to the storing
    process as Arrow buffers (a frame pickles as its IPC bytes), and that process neither
    unpickles a Python object per value nor converts the rows itself.
    """

    sentences: pl.DataFrame
    mentions: pl.DataFrame
    edges: pl.DataFrame


def row_frames(rows: BatchRows | RowFrames) -> RowFrames:
    """``rows`` as frames (as they are, when they are frames already)."""
    if isinstance(rows, RowFrames):
        return rows
    return RowFrames(pl.DataFrame(rows.sentences), pl.DataFrame(rows.mentions), pl.DataFrame(rows.edges))


def write_batch(
    con: duckdb.DuckDBPyConnection,
    articles: Sequence[Article],
    rows: BatchRows | RowFrames,
    *,
    scorer_version: str,
    only: set[str] | None = None,
) -> dict[str, int]:
    """Replace ``articles`` and their sentences, mentions and edges in one transaction.

    With ``only``, rows of other articles in ``rows`` are left out. Returns the rows written.
    """
    now = datetime.now(UTC)
    framed = row_frames(rows)
    batches = {
        "sentence_batch": framed.sentences,
        "mention_batch": framed.mentions,
        "edge_batch": framed.edges,
    }
    if only is not None:
        wanted = pl.Series(sorted(only), dtype=pl.Utf8)
        batches = {
            name: frame.filter(pl.col("article_id").is_in(wanted.implode())) if frame.height else frame
            for name, frame in batches.items()
        }
    frames = {
        "article_batch": _articles_frame(articles).to_arrow(),
        **{name: frame.to_arrow() for name, frame in batches.items()},
    }
    for name, table in frames.items():
        con.register(name, table)
    try:
        with transaction(con):
            # Only articles stored before have rows to replace: new ones (most) skip three
            # deletes that would each scan a whole table, a cost growing with the store.
            if _any_stored(con, "article_batch"):
                for table in ("sentences", "mentions", "edges"):
                    con.execute(
                        f"delete from {table} where article_id in (select article_id from article_batch)"
                    )
            con.execute(
                """
                insert into articles (article_id, url, outlet, outlet_home, published_at, title, text,
                                      language, content_hash, dup_of, source, is_sample, scorer_version,
                                      ingested_at, updated_at, author, is_summary, is_undated)
                select article_id, url, outlet, outlet_home, published_at, title, text, language,
                       content_hash, null, source, is_sample, ?, ?, ?, author, is_summary, is_undated
                from article_batch
                on conflict (article_id) do update set
                    url = excluded.url, outlet = excluded.outlet, outlet_home = excluded.outlet_home,
                    published_at = excluded.published_at, title = excluded.title,
                    text = excluded.text, language = excluded.language,
                    content_hash = excluded.content_hash, source = excluded.source,
                    is_sample = excluded.is_sample, scorer_version = excluded.scorer_version,
                    updated_at = excluded.updated_at, author = excluded.author,
                    is_summary = excluded.is_summary, is_undated = excluded.is_undated
                """,
                [scorer_version, now, now],
            )
            if batches["sentence_batch"].height:
                con.execute(
                    'insert into sentences select article_id, sentence_idx, start, "end", text,'
                    " speaker_actor, attribution, compound, scorer_version from sentence_batch"
                )
            if batches["mention_batch"].height:
                con.execute(
                    "insert into mentions select article_id, sentence_idx, mention_idx, actor_id, start,"
                    ' "end", surface, target_score, scorer_version from mention_batch'
                )
            if batches["edge_batch"].height:
                con.execute(
                    "insert into edges select article_id, sentence_idx, published_at, source_actor,"
                    " source_bloc, target_actor, target_bloc, score, method, scorer_version"
                    " from edge_batch"
                )
    finally:
        for name in frames:
            con.unregister(name)
    return {
        "sentences_scored": batches["sentence_batch"].height,
        "mentions_found": batches["mention_batch"].height,
        "edges_found": batches["edge_batch"].height,
    }


@dataclass(frozen=True)
class SourceFileState:
    """A file as the store last read it: unchanged size, mtime and scorer mean nothing to redo."""

    path: str
    size_bytes: int
    modified_ns: int
    scorer_version: str
    articles: int


def source_file_states(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> dict[str, SourceFileState]:
    """What the store recorded for each of ``paths`` it has read before."""
    if not paths:
        return {}
    _register_ids(con, "wanted_paths", "path", paths)
    try:
        rows = con.execute(
            "select f.path, f.size_bytes, f.modified_ns, f.scorer_version, f.articles"
            " from source_files f join wanted_paths w using (path)"
        ).fetchall()
    finally:
        con.unregister("wanted_paths")
    return {row[0]: SourceFileState(*row) for row in rows}


def record_files_read(
    con: duckdb.DuckDBPyConnection, run_id: str, files: Sequence[SourceFileState], rejects: Sequence[Reject]
) -> None:
    """Mark a unit's files read and record their rejects: both in one transaction, or neither."""
    with transaction(con):
        record_rejects(con, run_id, rejects)
        record_source_files(con, files)


def record_source_files(con: duckdb.DuckDBPyConnection, files: Sequence[SourceFileState]) -> None:
    """Remember files whose articles are now stored, so an unchanged file is not read again."""
    if not files:
        return
    now = datetime.now(UTC)
    con.executemany(
        "insert into source_files values (?, ?, ?, ?, ?, ?) on conflict (path) do update set"
        " size_bytes = excluded.size_bytes, modified_ns = excluded.modified_ns,"
        " scorer_version = excluded.scorer_version, articles = excluded.articles,"
        " checked_at = excluded.checked_at",
        [[f.path, f.size_bytes, f.modified_ns, f.scorer_version, f.articles, now] for f in files],
    )


def _register_ids(con: duckdb.DuckDBPyConnection, name: str, column: str, values: Sequence[str]) -> None:
    con.register(name, pl.DataFrame({column: list(values)}, schema={column: pl.Utf8}).to_arrow())


def link_duplicates(con: duckdb.DuckDBPyConnection) -> int:
    """Point each copy of a story at its earliest copy (``dup_of``); returns the number of copies.

    Copies are identical texts (same content hash) and near-duplicates (``near_duplicates``),
    taken transitively. Recomputed from scratch each time, so running it twice changes nothing.
    """
    rows = con.execute(
        """
        with exact as (
            select article_id,
                   first_value(article_id) over (partition by content_hash order by article_id) as other_id
            from articles
        ),
        pairs as (
            select article_id, other_id from exact where article_id <> other_id
            union all
            select article_id, other_id from near_duplicates
        )
        select p.article_id, p.other_id, a.published_at, b.published_at
        from pairs p
        join articles a on a.article_id = p.article_id
        join articles b on b.article_id = p.other_id
        """
    ).fetchall()
    order = {}
    for article_id, other_id, published_a, published_b in rows:
        order[article_id], order[other_id] = published_a, published_b
    roots = duplicate_roots(((r[0], r[1]) for r in rows), order)
    mapping = pl.DataFrame(
        {"article_id": list(roots), "root_id": list(roots.values())},
        schema={"article_id": pl.Utf8, "root_id": pl.Utf8},
    ).to_arrow()
    con.register("duplicate_roots", mapping)
    try:
        with transaction(con):
            con.execute(
                """
                update articles set dup_of = r.root_id from duplicate_roots r
                where articles.article_id = r.article_id and articles.dup_of is distinct from r.root_id
                """
            )
            con.execute(
                "update articles set dup_of = null where dup_of is not null"
                " and article_id not in (select article_id from duplicate_roots)"
            )
    finally:
        con.unregister("duplicate_roots")
    return len(roots)


def _bands_frame(bands: dict[str, list[int]]) -> pa.Table:
    """(article_id, bucket) rows, one per band key."""
    return pa.table(
        {
            "article_id": pa.array([a for a, keys in bands.items() for _ in keys], pa.string()),
            "bucket": pa.array([k for keys in bands.values() for k in keys], pa.int64()),
        }
    )


def _replaced_ids(article_ids: Sequence[str], stored_before: Collection[str] | None) -> list[str]:
    """Those of ``article_ids`` that can have rows to replace: all, unless ``stored_before``
    says which of them the store held before (a new article has no bands, signature or
    copies yet). Each delete scans a whole table, a cost that grows with the store."""
    if stored_before is None:
        return list(article_ids)
    return [a for a in article_ids if a in stored_before]


def replace_bands(
    con: duckdb.DuckDBPyConnection,
    bands: dict[str, list[int]],
    *,
    stored_before: Collection[str] | None = None,
) -> None:
    """Store each article's LSH band keys, replacing any it had (its text may have changed).

    ``stored_before``: the articles the store held before (``_replaced_ids``), when known."""
    frame = _bands_frame(bands)
    replaced = _replaced_ids(list(bands), stored_before)
    _register_ids(con, "band_ids", "article_id", replaced)
    con.register("band_batch", frame)
    try:
        with transaction(con):
            if replaced:
                con.execute("delete from article_bands where article_id in (select article_id from band_ids)")
            con.execute("insert into article_bands select article_id, bucket from band_batch")
    finally:
        con.unregister("band_batch")
        con.unregister("band_ids")


def replace_signatures(
    con: duckdb.DuckDBPyConnection,
    signatures: dict[str, bytes],
    *,
    stored_before: Collection[str] | None = None,
) -> None:
    """Store each article's MinHash signature (articles too short to compare have none).

    ``stored_before`` as for ``replace_bands``."""
    replaced = _replaced_ids(list(signatures), stored_before)
    _register_ids(con, "signature_ids", "article_id", replaced)
    frame = pl.DataFrame(
        {
            "article_id": [a for a, sig in signatures.items() if sig],
            "signature": [sig for sig in signatures.values() if sig],
        },
        schema={"article_id": pl.Utf8, "signature": pl.Binary},
    ).to_arrow()
    con.register("signature_batch", frame)
    try:
        with transaction(con):
            if replaced:
                con.execute(
                    "delete from article_signatures"
                    " where article_id in (select article_id from signature_ids)"
                )
            con.execute("insert into article_signatures select article_id, signature from signature_batch")
    finally:
        con.unregister("signature_batch")
        con.unregister("signature_ids")


# Rows per batch of candidate pairs: a batch's signatures take about 8 MB in NumPy.
CANDIDATE_BATCH_ROWS = 16_384
_SIGNATURE_BYTES = NUM_PERM * 4


@dataclass
class CandidatePairs:
    """A batch of candidate pairs (an article of the unit, another article sharing a band key
    with it), as arrays with one entry per pair.

    ``article_rows`` and ``other_rows`` are the two articles' positions among the unit's
    (``other_rows`` -1 when the other is a stored article outside the unit); for those,
    ``other_values`` holds its stored MinHash signature (one row of ``NUM_PERM`` values)
    and ``other_known`` whether it has one.
    """

    article_rows: Any
    other_rows: Any
    other_values: Any
    other_known: Any
    _other_ids: pa.Array

    def other_ids(self, picked: Any) -> list[str]:
        """The other article's id of the pairs at positions ``picked``."""
        return self._other_ids.take(pa.array(picked, pa.int64())).to_pylist()

    @classmethod
    def from_arrow(cls, batch: pa.RecordBatch) -> CandidatePairs:
        """Read the signatures straight from Arrow's buffers, without a Python object each."""
        signatures = batch.column("other_signature")
        known = signatures.is_valid().to_numpy(zero_copy_only=False)
        values = np.zeros((len(batch), NUM_PERM), dtype=np.uint32)
        present = signatures.drop_null()
        if len(present):
            offset_type = np.int64 if pa.types.is_large_binary(present.type) else np.int32
            offsets = np.frombuffer(present.buffers()[1], dtype=offset_type)[
                present.offset : present.offset + len(present) + 1
            ]
            if not (np.diff(offsets) == _SIGNATURE_BYTES).all():
                raise StoreError(
                    f"article_signatures: a stored MinHash signature is not {_SIGNATURE_BYTES} bytes long"
                )
            data = np.frombuffer(
                present.buffers()[2], dtype=np.uint32, count=len(present) * NUM_PERM, offset=int(offsets[0])
            )
            values[known] = data.reshape(-1, NUM_PERM)
        return cls(
            article_rows=batch.column("article_row").to_numpy(),
            other_rows=batch.column("other_row").fill_null(-1).to_numpy(),
            other_values=values,
            other_known=known,
            _other_ids=batch.column("other_id"),
        )


def candidate_batches(
    con: duckdb.DuckDBPyConnection, bands: dict[str, list[int]]
) -> Iterator[CandidatePairs]:
    """The pairs (an article of ``bands``, any other stored article) sharing at least one band
    key, in batches of ``CANDIDATE_BATCH_ROWS``; positions are those in ``bands``.

    The keys are joined as given (the articles' stored keys, ``replace_bands`` wrote them),
    so the store's band table is probed once instead of being joined with itself, and the
    other articles' signatures come with the pairs (not those of the unit's own articles:
    the caller has them). On a store of 100,000 generated articles a unit of 500 has about
    100,000 candidate pairs: they stay in Arrow and NumPy, never one Python object per pair.
    """
    frame = _bands_frame(bands)
    if not frame.num_rows:
        return
    rows = pa.table(
        {"article_id": pa.array(list(bands), pa.string()), "row": pa.array(range(len(bands)), pa.int32())}
    )
    con.register("candidate_bands", frame)
    con.register("candidate_rows", rows)
    try:
        reader = con.sql(
            """
            with pairs as (
                select distinct mine.article_id, other.article_id as other_id
                from candidate_bands mine
                join article_bands other on other.bucket = mine.bucket and other.article_id <> mine.article_id
            )
            select mine.row as article_row, theirs.row as other_row, pairs.other_id,
                   signatures.signature as other_signature
            from pairs
            join candidate_rows mine on mine.article_id = pairs.article_id
            left join candidate_rows theirs on theirs.article_id = pairs.other_id
            left join article_signatures signatures
                on signatures.article_id = pairs.other_id and theirs.row is null
            """
        ).to_arrow_reader(CANDIDATE_BATCH_ROWS)
        for batch in reader:
            yield CandidatePairs.from_arrow(batch)
    finally:
        con.unregister("candidate_rows")
        con.unregister("candidate_bands")


def _read_articles_column(
    con: duckdb.DuckDBPyConnection, column: str, article_ids: Sequence[str]
) -> dict[str, str]:
    if not article_ids:
        return {}
    _register_ids(con, "wanted_ids", "article_id", article_ids)
    try:
        rows = con.execute(
            f"select article_id, {column} from articles"
            " where article_id in (select article_id from wanted_ids)"
        ).fetchall()
    finally:
        con.unregister("wanted_ids")
    return dict(rows)


def read_texts(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, str]:
    """The stored text of each of ``article_ids``."""
    return _read_articles_column(con, "text", article_ids)


def read_content_hashes(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, str]:
    """The stored content hash of each of ``article_ids``."""
    return _read_articles_column(con, "content_hash", article_ids)


def replace_near_duplicates(
    con: duckdb.DuckDBPyConnection,
    article_ids: Sequence[str],
    pairs: Sequence[tuple[str, str, float]],
    *,
    stored_before: Collection[str] | None = None,
) -> None:
    """Replace every near-duplicate pair involving ``article_ids`` with ``pairs``.

    ``stored_before`` as for ``replace_bands``."""
    replaced = _replaced_ids(article_ids, stored_before)
    frame = pl.DataFrame(
        {
            "article_id": [p[0] for p in pairs],
            "other_id": [p[1] for p in pairs],
            "jaccard": [p[2] for p in pairs],
        },
        schema={"article_id": pl.Utf8, "other_id": pl.Utf8, "jaccard": pl.Float64},
    ).to_arrow()
    _register_ids(con, "pair_ids", "article_id", replaced)
    con.register("pair_batch", frame)
    try:
        with transaction(con):
            if replaced:
                con.execute(
                    "delete from near_duplicates where article_id in (select article_id from pair_ids)"
                    " or other_id in (select article_id from pair_ids)"
                )
            con.execute("insert into near_duplicates select article_id, other_id, jaccard from pair_batch")
    finally:
        con.unregister("pair_batch")
        con.unregister("pair_ids")


def known_urls(con: duckdb.DuckDBPyConnection, urls: Sequence[str], *, rejected_since: datetime) -> set[str]:
    """Those of ``urls`` already stored (as an article or an alias), or rejected after ``rejected_since``."""
    if not urls:
        return set()
    _register_ids(con, "wanted_urls", "url", list(dict.fromkeys(urls)))
    try:
        rows = con.execute(
            """
            select url from wanted_urls
            where url in (select url from articles where url is not null)
               or url in (select url from article_urls)
               or url in (select url from fetch_state where outcome = 'rejected' and checked_at >= ?)
            """,
            [rejected_since],
        ).fetchall()
    finally:
        con.unregister("wanted_urls")
    return {row[0] for row in rows}


def fetch_validators(
    con: duckdb.DuckDBPyConnection, urls: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """The (ETag, Last-Modified) last seen for each of ``urls`` that has any."""
    if not urls:
        return {}
    _register_ids(con, "validator_urls", "url", list(dict.fromkeys(urls)))
    try:
        rows = con.execute(
            """
            select f.url, f.etag, f.last_modified from fetch_state f
            where f.url in (select url from validator_urls) and f.outcome = 'ok'
              and (f.etag is not null or f.last_modified is not null)
            """
        ).fetchall()
    finally:
        con.unregister("validator_urls")
    return {row[0]: (row[1], row[2]) for row in rows}


def record_fetches(
    con: duckdb.DuckDBPyConnection,
    fetches: Sequence[tuple[str, str | None, str | None, int | None, str]],
) -> None:
    """Upsert (url, etag, last_modified, http_status, outcome) rows into ``fetch_state``."""
    if not fetches:
        return
    now = datetime.now(UTC)
    with transaction(con):
        con.executemany(
            """
            insert into fetch_state values (?, ?, ?, ?, ?, ?)
            on conflict (url) do update set etag = excluded.etag, last_modified = excluded.last_modified,
                http_status = excluded.http_status, outcome = excluded.outcome,
                checked_at = excluded.checked_at
            """,
            [[url, etag, modified, status, outcome, now] for url, etag, modified, status, outcome in fetches],
        )


def record_article_urls(con: duckdb.DuckDBPyConnection, aliases: Sequence[tuple[str, str]]) -> None:
    """Remember other addresses (feed links, redirects) of stored articles: (url, article_id)."""
    if not aliases:
        return
    frame = pl.DataFrame(
        {"url": [a[0] for a in aliases], "article_id": [a[1] for a in aliases]},
        schema={"url": pl.Utf8, "article_id": pl.Utf8},
    ).unique(subset="url", keep="last")
    con.register("alias_batch", frame.to_arrow())
    try:
        with transaction(con):
            con.execute(
                """
                insert into article_urls select url, article_id from alias_batch
                on conflict (url) do update set article_id = excluded.article_id
                """
            )
    finally:
        con.unregister("alias_batch")


def record_rejects(con: duckdb.DuckDBPyConnection, run_id: str, rejects: Sequence[Reject]) -> None:
    if not rejects:
        return
    now = datetime.now(UTC)
    con.executemany(
        "insert into rejects values (?, ?, ?, ?, ?)",
        [[run_id, r.source, r.reason, r.detail, now] for r in rejects],
    )


def start_run(con: duckdb.DuckDBPyConnection, *, flow: str, scorer_version: str) -> str:
    run_id = uuid.uuid4().hex
    con.execute(
        "insert into runs (run_id, flow, started_at, status, scorer_version) values (?, ?, ?, 'running', ?)",
        [run_id, flow, datetime.now(UTC), scorer_version],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    status: str,
    counts: dict[str, int],
    seconds: float,
) -> None:
    columns = [
        "articles_seen",
        "articles_new",
        "articles_changed",
        "articles_rescored",
        "articles_unchanged",
        "sentences_scored",
        "mentions_found",
        "edges_found",
        "rejects",
        "articles_not_english",
        "sources_not_modified",
        "links_skipped",
    ]
    assignments = ", ".join(f"{c} = ?" for c in columns)
    con.execute(
        f"update runs set finished_at = ?, status = ?, seconds = ?, {assignments} where run_id = ?",
        [datetime.now(UTC), status, seconds, *[counts.get(c, 0) for c in columns], run_id],
    )


_DYAD_WEEK_SCHEMA = {
    "week": pl.Date,
    "source_bloc": pl.Utf8,
    "target_bloc": pl.Utf8,
    "mean_tone": pl.Float64,
    "n": pl.Int64,
}


def read_dyad_weeks(con: duckdb.DuckDBPyConnection, *, snapshot: bool = False) -> pl.DataFrame:
    """Each dyad's weekly mean tone and count: now (``dyad_weekly``), or as the last completed
    run left it (``snapshot``)."""
    source = "dyad_weekly_snapshot" if snapshot else "dyad_weekly"
    frame = _frame(
        con,
        f"select week, source_bloc, target_bloc, mean_tone, n from {source}"
        " order by source_bloc, target_bloc, week",
    )
    return frame.cast(_DYAD_WEEK_SCHEMA) if frame.height else pl.DataFrame(schema=_DYAD_WEEK_SCHEMA)


def previous_run_started(con: duckdb.DuckDBPyConnection, run_id: str) -> datetime | None:
    """When the last completed run before ``run_id`` started (None: this is the first)."""
    row = _one(
        con,
        "select max(started_at) from runs where status = 'completed' and run_id <> ?"
        " and started_at <= (select started_at from runs where run_id = ?)",
        [run_id, run_id],
    )
    return row[0]


def record_run_figures(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    reject_reasons: str,
    tone_shifts: str,
    report_path: str | None,
    prefect_flow_run_id: str | None,
    dyad_weeks: pl.DataFrame,
) -> None:
    """Store a run's summary figures (JSON text) and the dyad weeks the next run compares with."""
    con.register("dyad_week_batch", dyad_weeks.cast(_DYAD_WEEK_SCHEMA).to_arrow())
    try:
        with transaction(con):
            con.execute(
                "update runs set reject_reasons = ?, tone_shifts = ?, report_path = ?,"
                " prefect_flow_run_id = ? where run_id = ?",
                [reject_reasons, tone_shifts, report_path, prefect_flow_run_id, run_id],
            )
            con.execute("delete from dyad_weekly_snapshot")
            con.execute(
                "insert into dyad_weekly_snapshot"
                " select week, source_bloc, target_bloc, mean_tone, n from dyad_week_batch"
            )
    finally:
        con.unregister("dyad_week_batch")


def read_run_rejects(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str]]:
    """(source, reason) of every reject a run recorded, in the order recorded."""
    rows = con.execute(
        "select source, reason from rejects where run_id = ? order by rejected_at", [run_id]
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def set_run_status(con: duckdb.DuckDBPyConnection, run_id: str, status: str) -> None:
    con.execute("update runs set status = ? where run_id = ?", [status, run_id])


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {}
    for table in ("articles", "sentences", "mentions", "edges", "rejects", "runs"):
        counts[table] = int(_one(con, f"select count(*) from {table}")[0])
    return counts


def run_query(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()) -> pl.DataFrame:
    """Run an analyst's statement on a read-only connection and return the result."""
    try:
        return _frame(con, sql, parameters)
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {str(exc).splitlines()[0]}") from exc


@dataclass(frozen=True)
class ToneSelection:
    """The statements and mention tones a report covers: published in [since, until), each
    syndicated copy left out unless ``count_duplicates``, between ``blocs`` (both ends; the
    target for a mention) and by or about ``actors`` (either end), when given."""

    since: datetime | None = None
    until: datetime | None = None
    count_duplicates: bool = False
    blocs: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()

    def parameters(self) -> dict[str, object]:
        """The ``$name`` parameters of the report's queries."""
        return {
            "since": self.since,
            "until": self.until,
            "count_duplicates": self.count_duplicates,
            "blocs": list(self.blocs),
            "actors": list(self.actors),
        }


# The report's statements: one row per edge, named as transforms.aggregate's frames are.
_STATEMENTS_SQL = """
    select e.published_at, e.source_bloc, e.target_bloc, e.score,
           coalesce(sa.name, e.source_actor) as speaker,
           coalesce(ta.name, e.target_actor) as target,
           a.outlet_home, e.article_id, e.sentence_idx, e.source_actor, e.target_actor,
           e.scorer_version
    from edges e
    join articles a using (article_id)
    left join actors sa on sa.actor_id = e.source_actor
    left join actors ta on ta.actor_id = e.target_actor
    where (a.dup_of is null or $count_duplicates)
      and ($since::timestamptz is null or e.published_at >= $since::timestamptz)
      and ($until::timestamptz is null or e.published_at < $until::timestamptz)
      and (len($blocs::varchar[]) = 0
           or (list_contains($blocs::varchar[], e.source_bloc)
               and list_contains($blocs::varchar[], e.target_bloc)))
      and (len($actors::varchar[]) = 0 or list_contains($actors::varchar[], e.source_actor)
           or list_contains($actors::varchar[], e.target_actor))
"""
# The report's mention tones: one per sentence and target, the first mention's (an actor named
# twice in a sentence is one opinion), as transforms.aggregate.select_target_tones keeps them:
# every mention but the repeats (``_REPEATS_SQL``, registered as ``repeat_mentions``).
_VOICES_SQL = """
    select a.published_at, m.target_score as score, m.actor_id as target_actor,
           coalesce(ta.name, m.actor_id) as target, ta.bloc as target_bloc,
           {speaker_columns} a.outlet_home, m.article_id, m.sentence_idx
    from mentions m
    anti join repeat_mentions using (article_id, sentence_idx, mention_idx)
    join articles a using (article_id)
    join actors ta on ta.actor_id = m.actor_id
    {speaker_join}
    where (a.dup_of is null or $count_duplicates)
      and ($since::timestamptz is null or a.published_at >= $since::timestamptz)
      and ($until::timestamptz is null or a.published_at < $until::timestamptz)
      and (len($blocs::varchar[]) = 0 or list_contains($blocs::varchar[], ta.bloc))
      and (len($actors::varchar[]) = 0 or {by_actors})
"""
# Mentions of an actor already mentioned earlier in the same sentence. Grouping every mention
# by its key (two strings and a number) costs seconds at 100,000 articles; grouping by a hash
# of it is fast and finds the few shared keys, which are then compared exactly.
_REPEATS_SQL = """
    with shared as (
        select hash(article_id, sentence_idx, actor_id) as key_hash from mentions
        group by key_hash having count(*) > 1
    )
    select article_id, sentence_idx, mention_idx from mentions
    where hash(article_id, sentence_idx, actor_id) in (select key_hash from shared)
    qualify row_number() over (partition by article_id, sentence_idx, actor_id order by mention_idx) > 1
"""
# Who speaks in a sentence: a join with every sentence, so made only when needed (--actors)
# and otherwise afterwards, for the few rows shown (``_EVIDENCE_SQL``).
_SPEAKER_COLUMNS = "s.speaker_actor as source_actor, sa.name as speaker, sa.bloc as source_bloc,"
_SPEAKER_JOIN = """
    join sentences s using (article_id, sentence_idx)
    left join actors sa on sa.actor_id = s.speaker_actor
"""
SPEAKER_COLUMNS = ("source_actor", "speaker", "source_bloc")
# The texts (and, for voices read without it, the speaker) of the few rows a report shows,
# registered as ``shown_rows``: a table of known size, so DuckDB hashes it, not every sentence.
_EVIDENCE_SQL = """
    select r.*, {speaker_columns} a.outlet, a.title, a.url, s.text as sentence
    from shown_rows r
    join articles a using (article_id)
    join sentences s using (article_id, sentence_idx)
    {speaker_join}
"""
# Columns a report groups or ranks by: checked against this list before they go into SQL.
_GROUPABLE = {
    "period", "source_bloc", "target_bloc", "source_actor", "target_actor", "speaker", "target",
    "outlet_home", "published_at", "article_id", "sentence_idx", "strength", "scorer_version",
}  # fmt: skip
# transforms.aggregate.GRANULARITIES, as DuckDB's date_trunc names them.
_TRUNCATE = {"day": "day", "week": "week", "month": "month"}
STATEMENTS, VOICES = "statements", "voices"
REPORT_MEMORY_LIMIT = "256MB"


def _named_frame(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, object]) -> pl.DataFrame:
    """A query with ``$name`` parameters as a Polars frame, through Arrow."""
    relation = con.sql(sql, params=parameters)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    frame = pl.from_arrow(fetch())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _columns(names: Sequence[str]) -> str:
    unknown = [name for name in names if name not in _GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group or rank report rows by {', '.join(map(repr, unknown))}")
    return ", ".join(names)


def _with_period(rows: str, granularity: str | None) -> str:
    """``rows`` with ``strength`` (|score|) and, for a ``granularity``, ``period``:
    ``published_at`` (UTC) truncated to its period's first day, as
    transforms.aggregate.period_expr computes it (weeks start on Monday in both)."""
    if granularity is None:
        return f"select *, abs(score) as strength from ({rows})"
    unit = _TRUNCATE[granularity]
    return (
        f"select *, abs(score) as strength,"
        f" date_trunc('{unit}', timezone('UTC', published_at))::date as period from ({rows})"
    )


def _ranked_sql(source: str, cells: Sequence[Sequence[str]], key: Sequence[str]) -> str:
    """The rows of ``source`` that rank below ``$per_cell`` in one of their ``cells``
    (strongest first, ties newest first, then by ``key``), with that best rank as ``cell_rank``.

    Only a row at least as strong as its cell's ``$per_cell``-th strongest (``floor_<i>``, see
    ``ReportReader._floors``) can rank below ``$per_cell`` there, and all its betters in that
    cell are such rows too; so ranking those few rows gives the same ranks below ``$per_cell``
    as ranking every row, without holding every row (a window per cell would sort them all).
    """
    joins = " ".join(
        f"left join floor_{i} f{i} on "
        + " and ".join(f"r.{c} is not distinct from f{i}.{c}" for c in _columns(cell).split(", "))
        for i, cell in enumerate(cells)
    )
    strong = " or ".join(f"r.strength >= f{i}.floor_{i}" for i in range(len(cells)))
    order = ", ".join(
        ["strength desc", "published_at desc", *(f"{c} asc" for c in _columns(key).split(", "))]
    )
    ranks = ", ".join(f"row_number() over (partition by {_columns(cell)} order by {order})" for cell in cells)
    return f"""
        select * from (
            select *, least({ranks}) - 1 as cell_rank
            from (select r.* from ({source}) r {joins} where {strong})
        ) where cell_rank < $per_cell
    """


class ReportReader:
    """The report's numbers computed by DuckDB next to the data, for one ``selection``: the
    statements (edges) and voices (mention tones) are grouped and ranked in SQL exactly as
    transforms/ does it in Polars, so only the figures' points and the evidence shown leave
    DuckDB, and memory does not grow with the store (issue 7)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, selection: ToneSelection) -> None:
        # The pipeline builds its report in the same process, after the run: DuckDB would keep
        # freed buffers cached up to its memory limit; the report's biggest operator (the
        # repeat mentions' hash table, about 250 MB at 100,000 articles) fits in this, and what
        # does not fit spills to disk rather than growing the run's peak.
        con.execute(f"set memory_limit = '{REPORT_MEMORY_LIMIT}'")
        self.con = con
        self.selection = selection
        self._repeats: pl.DataFrame | None = None

    def _rows(self, rows: str, *, columns: Sequence[str]) -> str:
        """The selected statements or voices; voices with their speaker when ``columns`` or
        a selection by actors need it."""
        if rows == STATEMENTS:
            return _STATEMENTS_SQL
        if rows != VOICES:
            raise ValueError(f"rows must be {STATEMENTS!r} or {VOICES!r}, got {rows!r}")
        if not self.selection.actors and not any(c in SPEAKER_COLUMNS for c in columns):
            # $actors is empty here: the filter by actors is the one thing that needs the speaker.
            return _VOICES_SQL.format(speaker_columns="", speaker_join="", by_actors="false")
        return _VOICES_SQL.format(
            speaker_columns=_SPEAKER_COLUMNS,
            speaker_join=_SPEAKER_JOIN,
            by_actors="list_contains($actors::varchar[], s.speaker_actor)"
            " or list_contains($actors::varchar[], m.actor_id)",
        )

    def _query(self, sql: str, **parameters: object) -> pl.DataFrame:
        if "repeat_mentions" in sql:
            if self._repeats is None:  # read once per report, used by every query on voices
                self._repeats = _frame(self.con, _REPEATS_SQL)
            self.con.register("repeat_mentions", self._repeats.to_arrow())
        try:
            given = {**self.selection.parameters(), **parameters}
            # DuckDB refuses parameters a statement does not use.
            return _named_frame(self.con, sql, {k: v for k, v in given.items() if f"${k}" in sql})
        finally:
            if "repeat_mentions" in sql:
                self.con.unregister("repeat_mentions")

    def _with_texts(self, sql: str, *, speaker: bool, **parameters: object) -> pl.DataFrame:
        """The rows ``sql`` selects, then their texts (and with ``speaker``, who speaks)."""
        shown = self._query(sql, **parameters)
        self.con.register("shown_rows", shown.to_arrow())
        try:
            return self._query(
                _EVIDENCE_SQL.format(
                    speaker_columns=_SPEAKER_COLUMNS if speaker else "",
                    speaker_join="left join actors sa on sa.actor_id = s.speaker_actor" if speaker else "",
                )
            )
        finally:
            self.con.unregister("shown_rows")

    def moments(
        self, *, by: Sequence[str], granularity: str | None = None, rows: str = STATEMENTS
    ) -> pl.DataFrame:
        """transforms.aggregate.tone_moments: ``by`` columns (and ``period``), mean_tone, n, sd."""
        keys = _columns(["period", *by] if granularity is not None else list(by))
        source = _with_period(self._rows(rows, columns=by), granularity)
        return self._query(
            f"select {keys}, avg(score) as mean_tone, count(*) as n, stddev_samp(score) as sd"
            f" from ({source}) group by {keys} order by {keys}"
        )

    def dyad_period_sums(self, *, granularity: str) -> pl.DataFrame:
        """transforms.shifts.dyad_period_sums: n, total and squares of the score per pair of
        distinct blocs and period."""
        return self._query(
            f"""
            select source_bloc, target_bloc, period, count(*) as n, sum(score) as total,
                   sum(score * score) as squares
            from ({_with_period(_STATEMENTS_SQL, granularity)})
            where source_bloc <> target_bloc
            group by all order by source_bloc, target_bloc, period
            """
        )

    def scorer_versions(self) -> pl.DataFrame:
        """scorer_version, n: how many selected statements each scorer version gave, most first."""
        return self._query(
            f"select scorer_version, count(*) as n from ({_STATEMENTS_SQL})"
            " group by scorer_version order by n desc, scorer_version"
        )

    def ranked_evidence(
        self,
        *,
        cells: Sequence[Sequence[str]],
        key: Sequence[str],
        per_cell: int,
        granularity: str | None = None,
        rows: str = STATEMENTS,
        excluding: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """The selected ``rows`` among the ``per_cell`` strongest of one of their ``cells``, with
        ``cell_rank`` (transforms.evidence.rank_in_cells), ``strength``, ``period`` (with
        ``granularity``) and their texts (outlet, title, url, sentence). Rows whose ``key`` is
        in ``excluding`` are left out before ranking."""
        source = self._rows(rows, columns=[*key, *(c for cell in cells for c in cell)])
        has_speaker = "as source_actor" in source or rows == STATEMENTS
        source = _with_period(source, granularity)
        if excluding is not None:
            source = f"select * from ({source}) anti join excluded_keys using ({_columns(key)})"
            self.con.register("excluded_keys", excluding.select(key).to_arrow())
        try:
            floors = self._floors(source, cells, per_cell=per_cell)
            ranked = _ranked_sql(source, cells, key)
            return self._with_texts(ranked, speaker=not has_speaker, per_cell=per_cell)
        finally:
            for name in ("excluded_keys", *floors):
                self.con.unregister(name)

    def _floors(self, source: str, cells: Sequence[Sequence[str]], *, per_cell: int) -> list[str]:
        """Register, as ``floor_0``, ``floor_1``, …, each cell's ``per_cell``-th strongest
        |score| (one pass over ``source``: grouping sets); returns the names registered."""
        names = list(dict.fromkeys(c for cell in cells for c in cell))
        floors = self._query(
            f"select {_columns(names)}, grouping({_columns(names)}) as grouping_id,"
            " list_min(max(strength, $per_cell)) as floor"
            f" from ({source}) group by grouping sets ({', '.join(f'({_columns(cell)})' for cell in cells)})",
            per_cell=per_cell,
        )
        registered = []
        for i, cell in enumerate(cells):
            # GROUPING() sets a bit, first column highest, for each column a set leaves out.
            mask = sum(1 << (len(names) - 1 - j) for j, name in enumerate(names) if name not in cell)
            frame = floors.filter(pl.col("grouping_id") == mask).select(
                *cell, pl.col("floor").alias(f"floor_{i}")
            )
            self.con.register(f"floor_{i}", frame.to_arrow())
            registered.append(f"floor_{i}")
        return registered

    def shift_window_rows(self, windows: pl.DataFrame) -> pl.DataFrame:
        """The selected statements, with their texts, of each dyad published within a day of
        one of its ``windows`` (source_bloc, target_bloc, since, until: dates): a superset of
        the rows transforms.evidence.shift_evidence looks at, which filters them exactly."""
        frame = windows.select("source_bloc", "target_bloc", "since", "until")
        self.con.register("shift_windows", frame.to_arrow())
        try:
            return self._with_texts(
                f"""
                select e.* from ({_STATEMENTS_SQL}) e
                semi join shift_windows w
                  on w.source_bloc = e.source_bloc and w.target_bloc = e.target_bloc
                 and e.published_at >= w.since - interval 1 day
                 and e.published_at < w.until + interval 1 day
                """,
                speaker=False,
            )
        finally:
            self.con.unregister("shift_windows")


def read_edges(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    count_duplicates: bool = False,
) -> pl.DataFrame:
    """Every edge with its evidence (sentence, names, outlet, title, url): the rows
    ``reporting.assemble_report`` takes in memory. The report itself reads through
    ``ReportReader`` (at 100,000 articles these rows take gigabytes); the tests compare the two.

    ``dup_of`` is returned too, so a caller that reads every copy can still count each once.
    """
    return _frame(
        con,
        """
        select e.published_at, e.source_bloc, e.target_bloc, e.score, e.method,
               coalesce(sa.name, e.source_actor) as speaker,
               coalesce(ta.name, e.target_actor) as target,
               a.outlet, a.outlet_home, a.title, a.url, s.text as sentence,
               e.article_id, e.sentence_idx, e.source_actor, e.target_actor, a.dup_of,
               e.scorer_version
        from edges e
        join articles a using (article_id)
        join sentences s using (article_id, sentence_idx)
        left join actors sa on sa.actor_id = e.source_actor
        left join actors ta on ta.actor_id = e.target_actor
        where (a.dup_of is null or ?)
          and (?::timestamptz is null or e.published_at >= ?::timestamptz)
          and (?::timestamptz is null or e.published_at < ?::timestamptz)
        order by e.published_at, e.article_id, e.sentence_idx, e.target_actor
        """,
        [count_duplicates, since, since, until, until],
    )


def read_target_tones(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """Every mention's target tone with its sentence, speaker (null: the outlet's own voice),
    outlet and outlet home: the rows ``reporting.assemble_report`` takes in memory for the
    outlet framing figure (see ``read_edges``). ``dup_of`` included.
    """
    return _frame(
        con,
        """
        select a.published_at, m.target_score as score, m.actor_id as target_actor,
               coalesce(ta.name, m.actor_id) as target, ta.bloc as target_bloc,
               s.speaker_actor as source_actor, sa.name as speaker, sa.bloc as source_bloc,
               a.outlet, a.outlet_home, a.title, a.url, s.text as sentence,
               m.article_id, m.sentence_idx, a.dup_of
        from mentions m
        join articles a using (article_id)
        join sentences s using (article_id, sentence_idx)
        join actors ta on ta.actor_id = m.actor_id
        left join actors sa on sa.actor_id = s.speaker_actor
        where (?::timestamptz is null or a.published_at >= ?::timestamptz)
          and (?::timestamptz is null or a.published_at < ?::timestamptz)
        order by a.published_at, m.article_id, m.sentence_idx, m.mention_idx
        """,
        [since, since, until, until],
    )


# What a report is drawn from. ``runs`` only through the latest run's scorer version.
REPORT_TABLES = ("articles", "sentences", "mentions", "edges", "actors", "blocs")


def report_inputs_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of every row a report reads: any insert, delete or update of one changes it.

    Each table's row count and the XOR of its rows' hashes, in one scan each (about 0.1 s at
    10,000 articles); the table names are this module's constants, never input.
    """
    parts = [repr(_one(con, f"select count(*), bit_xor(hash(t)) from {table} t")) for table in REPORT_TABLES]
    parts.append(repr(_one(con, "select scorer_version from runs order by started_at desc limit 1")))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def read_corpus_stats(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    count_duplicates: bool = False,
) -> dict[str, object]:
    """Counts and period of the articles a report covers, and the scorer version in use."""
    row = _one(
        con,
        """
        select count(*), count(distinct outlet), min(published_at), max(published_at),
               coalesce(sum((select count(*) from sentences s where s.article_id = a.article_id)), 0)
        from articles a
        where (a.dup_of is null or ?)
          and (?::timestamptz is null or a.published_at >= ?::timestamptz)
          and (?::timestamptz is null or a.published_at < ?::timestamptz)
        """,
        [count_duplicates, since, since, until, until],
    )
    version = _one(con, "select scorer_version from runs order by started_at desc limit 1")
    articles, outlets, first, last, sentences = row
    return {
        "articles": int(articles or 0),
        "outlets": int(outlets or 0),
        "sentences": int(sentences or 0),
        "period_start": first.date() if first else None,
        "period_end": last.date() if last else None,
        "scorer_version": version[0] if version and version[0] else "unknown",
    }


def read_blocs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(bloc_id, name, color) in registry order."""
    return [tuple(row) for row in con.execute("select bloc_id, name, color from blocs").fetchall()]


def read_actor_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every actor id in the registry in use, sorted."""
    return [row[0] for row in con.execute("select actor_id from actors order by actor_id").fetchall()]


# Exported partitioned by the month (UTC) of their article's ``published_at``: the tables that grow.
MONTH_PARTITIONED_TABLES = ("articles", "sentences", "mentions", "edges")
# The partition of a month-partitioned table with no rows, so that its folder always exists.
EMPTY_PARTITION = "none"


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every base table of the store in name order (views are queries over them, not data)."""
    rows = con.execute(
        "select table_name from information_schema.tables"
        " where table_schema = 'main' and table_type = 'BASE TABLE' order by table_name"
    ).fetchall()
    return [row[0] for row in rows]


def _sql_string(value: str) -> str:
    """A SQL string literal: COPY's file name cannot be a bound parameter."""
    return "'" + value.replace("'", "''") + "'"


def copy_table_to_parquet(con: duckdb.DuckDBPyConnection, table: str, out: Path, *, by_month: bool) -> int:
    """Write ``table`` as Parquet and return its row count.

    ``by_month``: a folder ``out`` of hive partitions ``month=YYYY-MM/``, by the month (UTC) of
    the article's ``published_at`` (joined on ``article_id`` for sentences, mentions and edges);
    else the single file ``out``. Run every copy of one export on one read-only connection:
    no writer can open the file meanwhile, so the tables are one consistent snapshot.
    """
    if table not in table_names(con):
        raise StoreError(f"no table {table!r} in the store")
    quoted = '"' + table.replace('"', '""') + '"'
    rows = int(_one(con, f"select count(*) from {quoted}")[0])
    if not by_month:
        con.execute(f"copy {quoted} to {_sql_string(str(out))} (format parquet)")
        return rows
    if rows == 0:
        empty = out / f"month={EMPTY_PARTITION}"
        empty.mkdir(parents=True, exist_ok=True)
        target = _sql_string(str(empty / "data_0.parquet"))
        con.execute(f"copy (select * from {quoted}) to {target} (format parquet)")
        return rows
    month = "strftime(timezone('UTC', a.published_at), '%Y-%m')"
    if table == "articles":
        query = f"select a.*, {month} as month from articles a"
    else:
        query = (
            f"select t.*, coalesce({month}, '{EMPTY_PARTITION}') as month"
            f" from {quoted} t left join articles a using (article_id)"
        )
    con.execute(f"copy ({query}) to {_sql_string(str(out))} (format parquet, partition_by (month))")
    return rows
