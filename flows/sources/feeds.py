"""Read RSS and Atom feeds with feedparser, from bytes tonewatch fetched or read itself.

Feeds are untrusted XML. Before feedparser sees a byte, the prolog is checked: an internal
DTD subset or an entity declaration (billion laughs, external entities) rejects the feed;
a bare DOCTYPE naming an external DTD (old RSS 0.91 feeds) is cut out, never fetched.
feedparser only ever gets a file object, so it can neither fetch a URL nor open a path.
An entry with full content becomes an article; one with only a summary becomes a page to
fetch or, when pages are not fetched, an article flagged as a summary.
"""

from __future__ import annotations

import calendar
import io
import re
import xml.sax
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.etree
import lxml.html

from ...transforms.language import language_tag
from ...transforms.normalize import is_blank, url_parts
from ...transforms.records import RawArticle, Reject
from ..settings import MAX_ARTICLE_CHARS, MAX_FEED_ENTRIES
from .dates import plausible

FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "rdf"})
_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Control characters lxml refuses to hold in a text node (it parses them, then cannot set them).
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLOCKS = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "table")
# Where an entry starts: feedparser builds a dict per entry, so a feed of a million empty
# <item/>s is cut after MAX_FEED_ENTRIES before it is parsed (time and memory stay bounded).
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")


@dataclass(frozen=True)
class PendingPage:
    """A feed entry with only a summary: its article page is still to be fetched."""

    url: str
    source: str
    title: str
    summary: str
    published_at: datetime | None
    author: str | None
    outlet: str | None
    language: str | None


@dataclass
class ParsedFeed:
    articles: list[RawArticle] = field(default_factory=list)
    pages: list[PendingPage] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


@dataclass(frozen=True)
class Prolog:
    """What comes before an XML document's root element."""

    root: str | None  # lower-cased root element name; None when this is not XML
    problem: str | None = None  # why the document is unsafe, if it is
    doctype: tuple[int, int] | None = None  # span of a bare external DOCTYPE, to cut out
    is_html: bool = False


def _scan_text(data: bytes) -> str:
    """The document as text for scanning markup: UTF-16/32 by BOM, else byte-transparent latin-1."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    return data.decode("latin-1")


def _doctype_end(text: str, start: int) -> tuple[int, bool]:
    """Index after a DOCTYPE's closing '>', and whether it has an internal subset ('[')."""
    quote = None
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "[":
            return index, True
        elif char == ">":
            return index + 1, False
    return len(text), True


def scan_prolog(data: bytes) -> Prolog:
    """Find the root element and anything unsafe before it, without an XML parser."""
    text = _scan_text(data[: 64 * 1024])
    is_wide = len(text) != min(len(data), 64 * 1024)
    # A UTF-8 byte order mark reads as three latin-1 characters; offsets stay byte offsets.
    index = 1 if text.startswith("\ufeff") else 3 if text.startswith("\xef\xbb\xbf") else 0
    doctype = None
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        rest = text[index : index + 9]
        if rest.startswith("<?"):
            end = text.find("?>", index)
            if end < 0:
                return Prolog(None)
            index = end + 2
        elif rest.startswith("<!--"):
            end = text.find("-->", index)
            if end < 0:
                return Prolog(None)
            index = end + 3
        elif rest.upper() == "<!DOCTYPE":
            end, has_subset = _doctype_end(text, index + 9)
            name = _NAME.match(text[index + 9 :].lstrip())
            if name and name.group().lower() == "html":
                return Prolog("html", is_html=True)
            if has_subset:
                return Prolog(None, problem="DOCTYPE with an internal subset (entity declarations)")
            if is_wide:
                # Offsets into UTF-16/32 text are not byte offsets; such feeds are rare.
                return Prolog(None, problem="DOCTYPE in a UTF-16 or UTF-32 document")
            doctype = (index, end)
            index = end
        elif rest.startswith("<!"):
            word = _NAME.match(text, index + 2)
            found = word.group() if word else rest[2:3]
            return Prolog(None, problem=f"<!{found}> declaration before the root element")
        elif rest.startswith("<"):
            name = _NAME.match(text, index + 1)
            if not name:
                return Prolog(None)
            root = name.group().lower()
            return Prolog(root, doctype=doctype, is_html=root == "html")
        else:
            return Prolog(None)
    return Prolog(None)


def looks_like_feed(data: bytes) -> bool:
    """True for an RSS, Atom or RDF root element, or XML too unsafe to look at (rejected as a feed)."""
    prolog = scan_prolog(data)
    return prolog.root in FEED_ROOTS or prolog.problem is not None


def html_to_text(fragment: str) -> str:
    """Feed content (an HTML fragment) as plain text, one paragraph per block element."""
    if "<" not in fragment:
        return fragment.strip()
    fragment = _CONTROL_CHARS.sub(" ", fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    for element in root.iter("script", "style"):
        element.drop_tree()
    for element in root.iter(*_BLOCKS):
        element.text = "\n\n" + (element.text or "")
        element.tail = "\n\n" + (element.tail or "")
    for element in root.iter("br"):
        element.tail = "\n" + (element.tail or "")
    lines = (line.strip() for line in root.text_content().splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed
        # with a DeprecationWarning.
        parsed = dict.get(entry, key)
        if parsed:
            # feedparser gives UTC time tuples; a year 9999 or 0001 is no date (see dates.py).
            try:
                moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, OSError, ValueError):
                continue
            if plausible(moment):
                return moment
    return None


def _cut_entries(data: bytes, limit: int) -> tuple[bytes, int]:
    """The document cut before its entry number ``limit + 1`` and about how many entries it
    has; (``data``, 0) when it has no more than ``limit``."""
    for number, match in enumerate(_ENTRY_START.finditer(data), start=1):
        if number > limit:
            # Counted in C: the message needs a number, the regex walk over a million would cost seconds.
            return data[: match.start()], max(number, data.count(b"<item") + data.count(b"<entry"))
    return data, 0


def _entry_link(entry: Any, base_url: str | None) -> str | None:
    link = entry.get("link") or ""
    if not link and isinstance(entry.get("id"), str) and entry["id"].startswith(("http://", "https://")):
        link = entry["id"]
    if not link:
        return None
    try:
        absolute = urljoin(base_url, link.strip()) if base_url else link.strip()
    except ValueError:  # "http://[broken" cannot even be joined
        return None
    parts = url_parts(absolute)
    return absolute if parts and parts.scheme in ("http", "https") and parts.hostname else None


def _content_text(entry: Any) -> str:
    values = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, dict)]
    texts = [html_to_text(v) for v in values if v]
    return max(texts, key=len, default="")


def parse_feed(
    data: bytes,
    *,
    source: str,
    base_url: str | None = None,
    media_type: str | None = None,
    fetch_pages: bool = False,
) -> ParsedFeed | Reject:
    """Entries of an RSS or Atom document as articles and pages to fetch, or one reject."""
    prolog = scan_prolog(data)
    if prolog.problem:
        return Reject(source, "unsafe XML", prolog.problem)
    if prolog.is_html:
        return Reject(source, "not a feed", "an HTML page")
    if prolog.root not in FEED_ROOTS:
        found = f"root element <{prolog.root}>" if prolog.root else "not XML"
        return Reject(source, "not a feed", f"{found}; expected RSS or Atom")
    if prolog.doctype:
        begin, end = prolog.doctype
        data = data[:begin] + data[end:]
    data, declared_entries = _cut_entries(data, MAX_FEED_ENTRIES)
    headers = {"content-type": media_type} if media_type else {}
    if base_url:
        headers["content-location"] = base_url
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    except Exception as exc:  # noqa: BLE001
        # feedparser has crash paths on broken bytes (an encoding name that is not UTF-8, an
        # odd namespace prefix); a feed that breaks the parser is unreadable input, not a bug here.
        return Reject(source, "broken XML", f"feedparser failed: {type(exc).__name__}: {exc}"[:200])
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        return Reject(source, "not a feed", str(problem)[:200] if problem else "no entries")
    problem = parsed.get("bozo_exception")
    if not parsed.entries and isinstance(problem, xml.sax.SAXException):
        # A truncated or broken feed with nothing salvaged must say so, not read as "no news".
        return Reject(source, "broken XML", str(problem)[:200])
    channel = parsed.get("feed", {})
    outlet = (channel.get("title") or "").strip() or None
    language = language_tag(channel.get("language"))
    result = ParsedFeed()
    entries = parsed.entries
    if max(len(entries), declared_entries) > MAX_FEED_ENTRIES:
        found = max(len(entries), declared_entries)
        result.rejects.append(
            Reject(source, "too many entries", f"{found}; read the first {MAX_FEED_ENTRIES}")
        )
        entries = entries[:MAX_FEED_ENTRIES]
    for number, entry in enumerate(entries, start=1):
        link = _entry_link(entry, base_url)
        where = link or f"{source} entry {number}"
        title = html_to_text(entry.get("title") or "").replace("\n", " ").strip()
        content = _content_text(entry)
        summary = html_to_text(entry.get("summary") or "")
        # feedparser copies an Atom entry's content into its summary when it has none.
        is_full = bool(content) and len(content) >= len(summary)
        published_at = _entry_time(entry)
        author = (entry.get("author") or "").strip() or None
        if not is_full and fetch_pages and link:
            result.pages.append(
                PendingPage(link, source, title, summary, published_at, author, outlet, language)
            )
            continue
        text = content if is_full else summary
        if is_blank(text):
            result.rejects.append(Reject(where, "empty text", f"feed entry {number} of {source}"))
            continue
        if len(text) > MAX_ARTICLE_CHARS:
            result.rejects.append(
                Reject(where, "too large", f"text longer than {MAX_ARTICLE_CHARS} characters")
            )
            continue
        result.articles.append(
            RawArticle(
                source=source,
                url=link,
                outlet=outlet,
                published_at=published_at,
                title=title,
                text=text,
                language=language,
                author=author,
                is_summary=not is_full,
            )
        )
    return result
