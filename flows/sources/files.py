"""Read articles from local files and folders, choosing the reader by the file's suffix.

Saved-article text (.txt, .md), HTML pages (.html, .htm), JSON (.json), JSON lines (.jsonl,
.ndjson), CSV (.csv) and saved RSS/Atom feeds (.xml, .rss, .atom). Each reader yields
``RawArticle``s or ``Reject``s (and, for feeds, ``PendingPage``s); one bad article never
stops the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from dateutil import parser as date_parser

from ...transforms.normalize import is_blank
from ...transforms.records import RawArticle, Reject
from ..settings import MAX_ARTICLE_CHARS, MAX_SOURCE_FILE_BYTES
from .dates import plausible
from .feeds import ParsedFeed, PendingPage, parse_feed
from .pages import read_html
from .tabular import FieldMap, host_outlet, parse_csv, parse_json, parse_jsonl

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
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
# Text files holding NUL bytes are binary whatever their suffix says.
_BINARY_PROBE_BYTES = 8192
# Text files are UTF-8 unless a byte order mark says UTF-16 or UTF-32 (Windows tools write
# UTF-16 exports); the 32-bit marks come first, as UTF-32-LE's starts with UTF-16-LE's.
_TEXT_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

SourceItem = RawArticle | Reject | PendingPage


class _Unusable(Exception):
    """An article that cannot be used: a short reason (what the summary counts) and the detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


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


def _read_saved_article(
    text: str, source: str, field_map: FieldMap, fetch_pages: bool
) -> Iterator[SourceItem]:
    try:
        yield parse_saved_article(text, source=source)
    except _Unusable as exc:
        yield Reject(source, exc.reason, exc.detail)


def _read_jsonl(text: str, source: str, field_map: FieldMap, fetch_pages: bool) -> Iterator[SourceItem]:
    yield from parse_jsonl(text, source=source, field_map=field_map)


def _read_json(text: str, source: str, field_map: FieldMap, fetch_pages: bool) -> Iterator[SourceItem]:
    yield from parse_json(text, source=source, field_map=field_map)


def _read_csv(text: str, source: str, field_map: FieldMap, fetch_pages: bool) -> Iterator[SourceItem]:
    yield from parse_csv(text, source=source, field_map=field_map)


def _read_html(data: bytes, source: str, field_map: FieldMap, fetch_pages: bool) -> Iterator[SourceItem]:
    yield read_html(data, source=source)


def _read_feed(data: bytes, source: str, field_map: FieldMap, fetch_pages: bool) -> Iterator[SourceItem]:
    parsed = parse_feed(data, source=source, fetch_pages=fetch_pages)
    if isinstance(parsed, ParsedFeed):
        yield from parsed.articles
        yield from parsed.pages
        yield from parsed.rejects
    else:
        yield parsed


TextReader = Callable[[str, str, FieldMap, bool], Iterator[SourceItem]]
BytesReader = Callable[[bytes, str, FieldMap, bool], Iterator[SourceItem]]
# One reader per suffix. Text readers get UTF-8 text; bytes readers decode for themselves
# (an HTML page declares its charset, a feed its XML encoding).
TEXT_READERS: dict[str, TextReader] = {
    **dict.fromkeys(TEXT_SUFFIXES, _read_saved_article),
    **dict.fromkeys(JSONL_SUFFIXES, _read_jsonl),
    ".json": _read_json,
    ".csv": _read_csv,
}
BYTES_READERS: dict[str, BytesReader] = {
    **dict.fromkeys(HTML_SUFFIXES, _read_html),
    **dict.fromkeys(FEED_SUFFIXES, _read_feed),
}
SUPPORTED_SUFFIXES = frozenset(TEXT_READERS) | frozenset(BYTES_READERS)
# An empty batch file means "nothing today"; an empty article file is unusable.
_EMPTY_IS_NOTHING = JSONL_SUFFIXES | {".csv"}


def read_file(path: Path, *, field_map: FieldMap = (), fetch_pages: bool = False) -> Iterator[SourceItem]:
    """Read one file into raw articles, or rejects naming the file and the problem.

    ``field_map`` maps article fields to JSON/CSV columns; with ``fetch_pages`` a saved
    feed's summary-only entries come out as ``PendingPage``s instead of summaries.
    """
    suffix = path.suffix.lower()
    source = str(path)
    if suffix not in SUPPORTED_SUFFIXES:
        yield Reject(
            source,
            "unsupported file type",
            f"{suffix or 'no suffix'}; expected one of " + ", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
        return
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_FILE_BYTES:
            yield Reject(source, "too large", f"{size} bytes; the limit is {MAX_SOURCE_FILE_BYTES}")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Reject(source, "unreadable", exc.strerror or str(exc))
        return
    if not data.strip():
        if suffix not in _EMPTY_IS_NOTHING:
            yield Reject(source, "empty text")
        return
    if suffix in BYTES_READERS:
        yield from BYTES_READERS[suffix](data, source, field_map, fetch_pages)
        return
    codec = next((codec for bom, codec in _TEXT_BOMS if data.startswith(bom)), "utf-8-sig")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if codec == "utf-8-sig" else codec.upper()
        yield Reject(source, f"not {label} text", f"byte {exc.start}: {exc.reason}")
        return
    if "\x00" in text[:_BINARY_PROBE_BYTES]:
        yield Reject(source, "binary data", "NUL bytes in a text file")
        return
    yield from TEXT_READERS[suffix](text, source, field_map, fetch_pages)


def _parse_date(value: str) -> datetime | None:
    try:
        return date_parser.parse(value, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None


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
            # "9999-12-31" or "year 0" is no date line: it stays in the text.
            published_at = plausible(_parse_date(head))
            if published_at is not None:
                paragraphs.pop(0)
                continue
        break
    body = [
        _EMPHASIS.sub(r"\2", _MARKDOWN_LINK.sub(r"\1", p)) for p in paragraphs if not _PHOTO_CREDIT.search(p)
    ]
    article_text = "\n\n".join(body)
    if len(article_text) > MAX_ARTICLE_CHARS:
        raise _Unusable("too large", f"article text longer than {MAX_ARTICLE_CHARS} characters")
    if is_blank(article_text):
        raise _Unusable("empty text")
    return RawArticle(
        source=source,
        url=url,
        outlet=host_outlet(url) or author,
        published_at=published_at,
        title=title,
        text=article_text,
    )
