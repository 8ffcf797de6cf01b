"""Units of pipeline work: file sources split into groups of files, unchanged files left out.

A unit is what one task reads, normalizes and scores; the flow stores each unit as it
comes back, so memory holds a few units, not the corpus. A file whose size, modification
time and scorer version match what the store recorded is not read at all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..transforms.records import RawArticle, Reject
from .ingest_config import SourceSpec
from .settings import DEFAULT_BATCH_ARTICLES
from .sources.files import iter_source_files
from .store import SourceFileState

# Bytes of a source file per article, text and metadata (the benchmark's JSON Lines: 3.7 kB).
ARTICLE_FILE_BYTES = 4_000


@dataclass(frozen=True)
class SourceFile:
    """One file of a file or folder source, with the stat that tells whether it changed."""

    path: str
    spec: SourceSpec
    size_bytes: int
    modified_ns: int


# A unit: the files it reads, or the articles fetched for it.
Unit = tuple[tuple[SourceFile, ...], list[RawArticle]]


def expand_file_sources(specs: Sequence[SourceSpec]) -> tuple[list[SourceFile], list[Reject]]:
    """Every file under the file and folder sources, in a stable order; missing paths are rejects."""
    files: list[SourceFile] = []
    rejects: list[Reject] = []
    seen: set[str] = set()
    for spec in specs:
        root = Path(spec.location).expanduser()
        if not root.exists():
            rejects.append(Reject(spec.location, "no such file or folder"))
            continue
        for path in iter_source_files(root):
            key = str(path)
            if key in seen:
                continue
            seen.add(key)
            try:
                stat = path.stat()
            except OSError as exc:
                rejects.append(Reject(key, "unreadable", exc.strerror or str(exc)))
                continue
            files.append(SourceFile(key, spec, stat.st_size, stat.st_mtime_ns))
    return files, rejects


def unchanged_files(
    files: Sequence[SourceFile], known: dict[str, SourceFileState], scorer_version: str
) -> tuple[list[SourceFile], int, int]:
    """(files to read, files skipped, articles those skipped files hold)."""
    to_read: list[SourceFile] = []
    skipped = articles = 0
    for file in files:
        state = known.get(file.path)
        if (
            state is not None
            and state.size_bytes == file.size_bytes
            and state.modified_ns == file.modified_ns
            and state.scorer_version == scorer_version
        ):
            skipped += 1
            articles += state.articles
        else:
            to_read.append(file)
    return to_read, skipped, articles


def group_files(
    files: Sequence[SourceFile], *, articles: int = DEFAULT_BATCH_ARTICLES
) -> list[tuple[SourceFile, ...]]:
    """Consecutive files grouped to about ``articles`` articles each (``ARTICLE_FILE_BYTES`` of
    file an article); a larger file is a unit alone."""
    target_bytes = articles * ARTICLE_FILE_BYTES
    units: list[tuple[SourceFile, ...]] = []
    current: list[SourceFile] = []
    size = 0
    for file in files:
        if current and size + file.size_bytes > target_bytes:
            units.append(tuple(current))
            current, size = [], 0
        current.append(file)
        size += file.size_bytes
    if current:
        units.append(tuple(current))
    return units


def split_last_units(
    units: Sequence[Unit], count: int, *, articles: int = DEFAULT_BATCH_ARTICLES
) -> list[Unit]:
    """``units`` with each of the last ``count`` split in two: its files grouped to about
    ``articles`` / 2 articles (a file is never split), its fetched articles cut in the
    middle. ``count`` workers then finish their last units within about half a unit of each
    other, where whole units leave one idle for up to a unit's time at the end of a run."""
    cut = max(len(units) - count, 0)
    kept = list(units[:cut])
    for files, fetched in units[cut:]:
        if files:
            kept += [(group, []) for group in group_files(files, articles=max(articles // 2, 1))]
        else:
            middle = (len(fetched) + 1) // 2
            kept += [((), part) for part in (fetched[:middle], fetched[middle:]) if part]
    return kept


def default_workers() -> int:
    """One scoring process per core the machine gives this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
