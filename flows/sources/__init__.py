"""Source readers: each turns a source into raw articles or rejects; the table picks by suffix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...transforms.records import RawArticle, Reject
from .files import iter_source_files, read_file

__all__ = ["read_path"]


def read_path(source: Path) -> Iterator[RawArticle | Reject]:
    """Every article in a file or folder (recursively); unusable inputs come out as rejects."""
    if not source.exists():
        yield Reject(str(source), "no such file or folder")
        return
    for path in iter_source_files(source):
        yield from read_file(path)
