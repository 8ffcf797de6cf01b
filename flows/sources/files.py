"""Read articles from local files and folders: saved-article text (.txt/.md) and JSON lines.

Each reader yields ``RawArticle``s or ``Reject``s; one bad article never stops the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from dateutil import parser as date_parser

from ...transforms.records import RawArticle, Reject
from ..settings import MAX_ARTICLE_CHARS, MAX_SOURCE_FILE_BYTES

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES
JSONL_FIELDS = ("url", "outlet", "published_at", "title", "text")

_ORIGINAL_URL = re.compile(r"^\s*Original url:\s*(?:<(?P<inline>[^>\s]+)>)?\s*$", re.IGNORECASE)
_ANGLE_URL = re.compile(r"^\s*<(?P<url>https?://[^>\s]+)>\s*$")
_BYLINE = re.compile(r"^\s*By\s+(?P<by>.{1,120})$")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_PHOTO_CREDIT = re.compile(
    r"\*\*[^*]*(?:/|\bvia\b|\bphoto\b|\bAFP\b|\bReuters\b|\bAP\b|\bTASS\b)[^*]*\*\*\s*$",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_DATE_LINE_MAX_CHARS = 60
_FOLDER_DOCS = ("README", "LICENSE", "LICENCE", "CHANGELOG")


class _Unusable(Exception):
    """An article that cannot be used; its message is the reject reason."""


def _is_article_file(path: Path, root: Path) -> bool:
    relative = path.relative_to(root)
    if any(part.startswith(".") for part in relative.parts):
        return False
    # A folder's own documentation is not an article (corpus folders often carry a README).
    return not path.stem.upper().startswith(_FOLDER_DOCS)


def iter_source_files(source: Path) -> Iterator[Path]:
    """A file itself, or every article file under a folder (recursively), in a stable order.

    Hidden files and a folder's README, LICENSE and CHANGELOG files are skipped.
    """
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and _is_article_file(path, source):
                yield path
    else:
        yield source


def read_file(path: Path) -> Iterator[RawArticle | Reject]:
    """Read one file into raw articles, or rejects naming the file and the problem."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Reject(
            str(path),
            "unsupported file type",
            f"{suffix or 'no suffix'}; expected one of " + ", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
        return
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_FILE_BYTES:
            yield Reject(str(path), "too large", f"{size} bytes; the limit is {MAX_SOURCE_FILE_BYTES}")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Reject(str(path), "unreadable", exc.strerror or str(exc))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Reject(str(path), "not UTF-8 text", f"byte {exc.start}: {exc.reason}")
        return
    if suffix in JSONL_SUFFIXES:
        yield from parse_jsonl(text, source=str(path))
    else:
        try:
            yield parse_saved_article(text, source=str(path))
        except _Unusable as exc:
            yield Reject(str(path), str(exc))


def _parse_date(value: str) -> datetime | None:
    try:
        return date_parser.parse(value, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None


def _host_outlet(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def parse_saved_article(text: str, *, source: str) -> RawArticle:
    """Parse the "saved article" shape: title, optional byline and date, body, Original url."""
    lines = text.splitlines()
    url = None
    body_lines: list[str] = []
    expecting_url = False
    for line in lines:
        match = _ORIGINAL_URL.match(line)
        if match:
            url = match.group("inline")
            expecting_url = url is None
            continue
        if expecting_url:
            angle = _ANGLE_URL.match(line)
            if angle:
                url, expecting_url = angle.group("url"), False
                continue
            if not line.strip():
                continue
            expecting_url = False
        body_lines.append(line)
    paragraphs = [p.strip() for p in "\n".join(body_lines).split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise _Unusable("empty text")
    title = paragraphs.pop(0).lstrip("#").strip()
    author = None
    published_at = None
    # A byline and a date line may follow the title, in either order.
    for _ in range(2):
        if not paragraphs:
            break
        head = paragraphs[0]
        byline = _BYLINE.match(head)
        if byline and author is None:
            author = _MARKDOWN_LINK.sub(r"\1", byline.group("by")).strip()
            paragraphs.pop(0)
            continue
        if published_at is None and len(head) <= _DATE_LINE_MAX_CHARS and "\n" not in head:
            published_at = _parse_date(head)
            if published_at is not None:
                paragraphs.pop(0)
                continue
        break
    body = [
        _EMPHASIS.sub(r"\2", _MARKDOWN_LINK.sub(r"\1", p)) for p in paragraphs if not _PHOTO_CREDIT.search(p)
    ]
    if not body:
        raise _Unusable("empty text")
    article_text = "\n\n".join(body)
    if len(article_text) > MAX_ARTICLE_CHARS:
        raise _Unusable(f"article text longer than {MAX_ARTICLE_CHARS} characters")
    return RawArticle(
        source=source,
        url=url,
        outlet=_host_outlet(url) or author,
        published_at=published_at,
        title=title,
        text=article_text,
    )


def parse_jsonl(text: str, *, source: str) -> Iterator[RawArticle | Reject]:
    """One article per line (url, outlet, published_at, title, text); bad lines are rejects."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            yield _jsonl_article(line, where)
        except _Unusable as exc:
            yield Reject(where, str(exc))


def _jsonl_article(line: str, where: str) -> RawArticle:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _Unusable(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(record, dict):
        raise _Unusable(f"expected a JSON object, got {type(record).__name__}")
    for name in ("title", "text"):
        if not isinstance(record.get(name), str):
            raise _Unusable(f"field {name!r} must be a string, got {record.get(name)!r:.40}")
    if not record["text"].strip():
        raise _Unusable("empty text")
    if len(record["text"]) > MAX_ARTICLE_CHARS:
        raise _Unusable(f"article text longer than {MAX_ARTICLE_CHARS} characters")
    published_raw = record.get("published_at")
    published_at = None
    if published_raw not in (None, ""):
        published_at = _parse_date(str(published_raw))
        if published_at is None:
            raise _Unusable(f"published_at is not a date: {published_raw!r:.40}")
    url = record.get("url") if isinstance(record.get("url"), str) else None
    outlet = record.get("outlet") if isinstance(record.get("outlet"), str) else None
    return RawArticle(
        source=where,
        url=url,
        outlet=outlet or _host_outlet(url),
        published_at=published_at,
        title=record["title"],
        text=record["text"],
        outlet_home=record.get("outlet_home") if isinstance(record.get("outlet_home"), str) else None,
        language=record.get("language") if isinstance(record.get("language"), str) else None,
        is_sample=record.get("sample") is True,
    )
