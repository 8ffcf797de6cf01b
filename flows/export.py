"""Export every table of the store as Parquet that DuckDB, Polars or Spark read in place.

The large tables (articles, sentences, mentions, edges) are hive-partitioned by month,
``DIR/edges/month=2025-02/data_0.parquet``; the others are one file each,
``DIR/actors.parquet``. A manifest, ``DIR/_tonewatch_export.json``, lists every table with its
rows and layout. The export is written beside ``DIR`` and swapped in at the end, so a reader
of an older export never sees a half-written one. The SQL is in ``store``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..transforms.errors import StoreError
from . import store

MANIFEST_NAME = "_tonewatch_export.json"


@dataclass
class ExportSummary:
    """What an export wrote: rows per table, where, and how long it took."""

    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        main = ", ".join(f"{self.rows[t]} {t}" for t in store.MONTH_PARTITIONED_TABLES if t in self.rows)
        return (
            f"exported {len(self.rows)} tables ({main}) to {self.out_dir} as Parquet in {self.seconds:.1f} s"
        )


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise StoreError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_NAME).is_file():
        raise StoreError(
            f"{out_dir}: the folder is not empty and holds no earlier tonewatch export"
            f" ({MANIFEST_NAME}); choose a new or empty folder"
        )


def export_parquet(db_path: Path, out_dir: Path) -> ExportSummary:
    """Write every table of ``db_path`` under ``out_dir``, replacing an earlier export there."""
    started = time.perf_counter()
    out_dir = out_dir.expanduser()
    _check_target(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:  # a file where the folder should be, a read-only or full disk
        raise StoreError(
            f"{exc.filename or out_dir}: cannot write the export: {exc.strerror or exc}"
        ) from None
    summary = ExportSummary(out_dir)
    tables: dict[str, dict[str, object]] = {}
    try:
        with store.open_store(db_path, read_only=True) as con:
            version = store.schema_version(con)
            for table in store.table_names(con):
                by_month = table in store.MONTH_PARTITIONED_TABLES
                name = table if by_month else f"{table}.parquet"
                rows = store.copy_table_to_parquet(con, table, staging / name, by_month=by_month)
                summary.rows[table] = rows
                tables[table] = {
                    "rows": rows,
                    "path": f"{table}/**/*.parquet" if by_month else name,
                    "partitioned_by": "month" if by_month else None,
                }
        manifest = {
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": str(db_path),
            "schema_version": version,
            "tables": tables,
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` with ``staging``: two renames, the old export removed afterwards."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
