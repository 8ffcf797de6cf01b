"""Read article records from JSON, JSON lines and CSV, with an optional field mapping.

Each record names its fields ``url``, ``outlet``, ``outlet_home``, ``published_at``, ``title``,
``text``, ``language``, ``author`` (and ``sample`` in JSON); a mapping such as
``text=body`` reads an article field from another column. One bad record is one reject.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser

from ...transforms.language import language_tag
from ...transforms.normalize import is_blank, url_host
from ...transforms.records import RawArticle, Reject
from ..settings import MAX_ARTICLE_CHARS
from .dates import date_problem

FieldMap = tuple[tuple[str, str], ...]
# Keys under which a JSON document may hold its list of articles.
JSON_LIST_KEYS = ("articles", "items", "data", "records")


class _Unusable(Exception):
    """A record that cannot be used: a short reason (what the summary counts) and the detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def host_outlet(url: str | None) -> str | None:
    host = url_host(url)
    return host.removeprefix("www.") if host else None


# The ISO 8601 forms that datetime.fromisoformat and dateutil read alike (with the same
# instant: a "Z" or an offset becomes an aware time, no zone a naive one).
_ISO_DATE_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?\Z"
)


def _parse_date(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value)
    if _ISO_DATE_TIME.match(text):
        # Exports mostly carry ISO 8601, which the standard library reads in a microsecond;
        # dateutil, which reads everything else, takes a hundred times longer.
        with suppress(ValueError):  # 2025-02-30: dateutil says no too
            return datetime.fromisoformat(text)
    try:
        return date_parser.parse(text, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None


def _lookup(record: Mapping[str, Any], column: str) -> Any:
    """``record[column]``, or a nested value for a dotted name such as ``author.name``."""
    if column in record:
        return record[column]
    value: Any = record
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _field(record: Mapping[str, Any], name: str, columns: Mapping[str, str]) -> Any:
    value = _lookup(record, columns.get(name, name))
    return None if value == "" else value


def _label(name: str, columns: Mapping[str, str]) -> str:
    return f"field {name!r}" + (f" (column {columns[name]!r})" if name in columns else "")


def _optional_text(record: Mapping[str, Any], name: str, columns: Mapping[str, str]) -> str | None:
    value = _field(record, name, columns)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Unusable("bad field", f"{_label(name, columns)} must be a string, got {value!r:.40}")
    return value.strip() or None


def record_article(record: object, *, where: str, field_map: FieldMap = ()) -> RawArticle:
    """One record (a JSON object or a CSV row) as a raw article; raises ``_Unusable``."""
    if not isinstance(record, dict):
        raise _Unusable("not a JSON object", f"got {type(record).__name__}")
    columns = dict(field_map)
    text = _field(record, "text", columns)
    if not isinstance(text, str):
        raise _Unusable("bad field", f"{_label('text', columns)} must be a string, got {text!r:.40}")
    title = _field(record, "title", columns)
    if title is not None and not isinstance(title, str):
        raise _Unusable("bad field", f"{_label('title', columns)} must be a string, got {title!r:.40}")
    if len(text) > MAX_ARTICLE_CHARS:
        raise _Unusable("too large", f"article text longer than {MAX_ARTICLE_CHARS} characters")
    # Blank once cleaned as the store cleans it: zero-width spaces and NUL bytes are no text.
    if is_blank(text):
        raise _Unusable("empty text")
    published_raw = _field(record, "published_at", columns)
    published_at = None
    if published_raw is not None:
        published_at = _parse_date(published_raw)
        if published_at is None:
            raise _Unusable(
                "bad date", f"{_label('published_at', columns)} is not a date: {published_raw!r:.40}"
            )
        problem = date_problem(published_at)
        if problem:
            raise _Unusable(
                "bad date", f"{_label('published_at', columns)} is {problem}: {published_raw!r:.40}"
            )
    url = _optional_text(record, "url", columns)
    return RawArticle(
        source=where,
        url=url,
        outlet=_optional_text(record, "outlet", columns) or host_outlet(url),
        published_at=published_at,
        title=title or "",
        text=text,
        outlet_home=_optional_text(record, "outlet_home", columns),
        language=language_tag(_optional_text(record, "language", columns)),
        is_sample=record.get("sample") is True,
        author=_optional_text(record, "author", columns),
    )


def _records(items: Iterator[tuple[str, object]], field_map: FieldMap) -> Iterator[RawArticle | Reject]:
    for where, record in items:
        try:
            yield record_article(record, where=where, field_map=field_map)
        except _Unusable as exc:
            yield Reject(where, exc.reason, exc.detail)


def parse_jsonl(text: str, *, source: str, field_map: FieldMap = ()) -> Iterator[RawArticle | Reject]:
    """One article per line; a line that does not parse is a reject naming ``file:line``.

    Lines end at ``\n`` only: JSON strings may hold U+2028, NEL and other characters that
    ``str.splitlines`` would break a record on.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Reject(where, "not valid JSON", f"{exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield Reject(where, "not valid JSON", "nested too deeply")
            continue
        yield from _records(iter([(where, record)]), field_map)


def parse_json(text: str, *, source: str, field_map: FieldMap = ()) -> Iterator[RawArticle | Reject]:
    """A JSON array of articles, an object holding one under ``articles``, or a single article."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Reject(source, "not valid JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    except RecursionError:
        yield Reject(source, "not valid JSON", "nested too deeply")
        return
    if isinstance(document, dict):
        key = next((k for k in JSON_LIST_KEYS if isinstance(document.get(k), list)), None)
        if key is None:
            yield from _records(iter([(source, document)]), field_map)
            return
        document = document[key]
    if not isinstance(document, list):
        yield Reject(
            source, "not a JSON object", f"expected an array or object, got {type(document).__name__}"
        )
        return
    yield from _records(((f"{source}[{i}]", item) for i, item in enumerate(document)), field_map)


def parse_csv(text: str, *, source: str, field_map: FieldMap = ()) -> Iterator[RawArticle | Reject]:
    """A header row, then one article per row; rows are named ``file:line``."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ARTICLE_CHARS + 1))
    # Rows end at \r, \n or \r\n only (newline=""), as the csv module expects; a cell may
    # hold U+2028 or form feeds that ``str.splitlines`` would break a row on.
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="")
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        yield Reject(source, "not valid CSV", str(exc))
        return
    if not header:
        yield Reject(source, "empty text", "no header row")
        return
    columns = dict(field_map)
    missing = [c for c in (columns.get("text", "text"),) if c not in header]
    if missing:
        yield Reject(
            source,
            "missing column",
            f"no column {missing[0]!r} for the text; columns: {', '.join(header)} (use --map text=COLUMN)",
        )
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Reject(f"{source}:{reader.line_num}", "not valid CSV", str(exc))
            return
        where = f"{source}:{reader.line_num}"
        record = {k: v for k, v in row.items() if k is not None}
        yield from _records(iter([(where, record)]), field_map)
