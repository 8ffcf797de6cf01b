"""A run whose every source failed is a failure: it ends Failed, with a message naming them.

One failed source among working ones is a reject and the run goes on; but when nothing at all
was read and every source has a reject of its own (the feed timed out, the file is not JSON,
the folder held only unreadable files), a scheduled run must not look healthy in Prefect.
An empty source (no entries today) is not a failure. ``failed_sources`` is pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..transforms.errors import SourceError
from . import store
from .ingest_config import is_url

# What counts as having read something: stored, re-read unchanged, or answered "not modified".
READ_COUNTS = (
    "articles_new",
    "articles_changed",
    "articles_rescored",
    "articles_unchanged",
    "files_unchanged",
    "sources_not_modified",
    "links_skipped",
)
NAMED_IN_MESSAGE = 5


def _belongs_to(reject_source: str, location: str) -> bool:
    if reject_source == location:
        return True
    if is_url(location) or is_url(reject_source):
        return False
    return Path(reject_source).expanduser().is_relative_to(Path(location).expanduser())


def failed_sources(locations: Sequence[str], rejects: Sequence[tuple[str, str]]) -> dict[str, str] | None:
    """Each source with the reason of its first reject, or None when some source has none.

    ``rejects`` are (source, reason); a file's reject belongs to the folder it was found in.
    """
    if not locations:
        return None
    failed: dict[str, str] = {}
    for location in locations:
        reason = next((r for source, r in rejects if _belongs_to(source, location)), None)
        if reason is None:
            return None
        failed[location] = reason
    return failed


def failure_message(failed: dict[str, str]) -> str:
    named = [f"{location} ({reason})" for location, reason in list(failed.items())[:NAMED_IN_MESSAGE]]
    more = len(failed) - len(named)
    text = f"every source failed, nothing was read: {'; '.join(named)}"
    return text + (f"; and {more} more (see the rejects table)" if more else "")


def fail_if_every_source_failed(
    db_path: Path, run_id: str, locations: Sequence[str], counts: Counter
) -> None:
    """Mark the run failed and raise ``SourceError`` when every source failed and nothing was read."""
    if any(counts[name] for name in READ_COUNTS) or not locations:
        return
    with store.open_store(db_path) as con:
        failed = failed_sources(locations, store.read_run_rejects(con, run_id))
        if failed is None:
            return
        store.set_run_status(con, run_id, "failed")
    raise SourceError(failure_message(failed))
