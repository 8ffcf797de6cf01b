"""Which publication dates a reader may keep: from 1900 up to two days from now.

A date outside that range is a typo, a placeholder (``0001-01-01``, ``9999-12-31``) or an
attack on the report's time axis, not when a news article appeared; near the ends of the
calendar it cannot even be converted to UTC. Readers that find a date in a record's field
reject the record as ``bad date``; readers that find one heuristically (feeds, pages, saved
articles) treat it as no date at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST_PUBLISHED = datetime(1900, 1, 1, tzinfo=UTC)
# Outlets' clocks and time zones are sometimes off by hours; embargoed pieces by a day.
FUTURE_TOLERANCE = timedelta(days=2)


def date_problem(moment: datetime, *, now: datetime | None = None) -> str | None:
    """Why ``moment`` cannot be an article's publication time, or None when it can."""
    latest = (now or datetime.now(UTC)) + FUTURE_TOLERANCE
    if not EARLIEST_PUBLISHED.year <= moment.year <= latest.year:
        return "in the future" if moment.year > latest.year else f"before {EARLIEST_PUBLISHED.year}"
    # Naive times are taken as UTC, as normalize does; the year check keeps this in range.
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if utc > latest:
        return "in the future"
    if utc < EARLIEST_PUBLISHED:
        return f"before {EARLIEST_PUBLISHED.year}"
    return None


def plausible(moment: datetime | None) -> datetime | None:
    """``moment`` when it can be a publication time, else None (the article is undated)."""
    return moment if moment is not None and date_problem(moment) is None else None
