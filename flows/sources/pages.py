"""Read an article page: decode the HTML by its declared charset, extract it with trafilatura.

No network here (``flows.fetch`` fetches); no hand-written boilerplate stripping: trafilatura
finds the main text, title, author, date and canonical URL. Only a full publication time
(``article:published_time``, JSON-LD ``datePublished``) is read directly, because trafilatura
keeps the day alone.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import lxml.etree
import lxml.html
import trafilatura
from dateutil import parser as date_parser
from htmldate import find_date

from ...transforms.language import language_tag
from ...transforms.normalize import clean_text, url_host, url_parts
from ...transforms.records import RawArticle, Reject
from ..settings import MAX_ARTICLE_CHARS
from .dates import plausible

# trafilatura and its helpers log every page they cannot use; a reject already says so.
for _name in ("trafilatura", "htmldate", "courlan", "justext"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# HTML's rule: a page labelled latin-1 or ASCII is decoded as windows-1252.
_WINDOWS_1252_LABELS = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "ascii", "us-ascii"})
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_PUBLISHED_XPATH = (
    "//meta[@property='article:published_time' or @name='article:published_time'"
    " or @itemprop='datePublished' or @name='pubdate' or @name='publishdate'"
    " or @name='dc.date.issued' or @name='DC.date.issued' or @property='og:published_time']/@content"
)
_PRESCAN_BYTES = 4096
# Less main text than this is a menu, a login wall or a video page, not an article.
MIN_PAGE_TEXT_CHARS = 100


class Undecodable(Exception):
    """The bytes are not text in any charset the page or server declared."""


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decode_as(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if codec == "cp1252":
            # Five bytes are undefined in windows-1252; latin-1 maps every byte.
            return data.decode("latin-1")
        raise


def decode_html(data: bytes, header_charset: str | None = None) -> str:
    """HTML bytes as text: byte order mark, then the HTTP charset, then ``<meta charset>``, then UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise Undecodable(f"{codec} with a byte order mark, byte {exc.start}: {exc.reason}") from exc
    meta = _META_CHARSET.search(data[:_PRESCAN_BYTES])
    declared = [
        ("HTTP header", _codec(header_charset)),
        ("<meta charset>", _codec(meta.group(1).decode("ascii", "replace")) if meta else None),
    ]
    for where, codec in declared:
        if codec:
            try:
                return _decode_as(data, codec)
            except UnicodeDecodeError as exc:
                raise Undecodable(f"not {codec} as the {where} says: byte {exc.start}: {exc.reason}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecodable(f"no charset declared and not UTF-8: byte {exc.start}: {exc.reason}") from exc


def _find_json_ld_date(value: Any) -> str | None:
    if isinstance(value, dict):
        found = value.get("datePublished")
        if isinstance(found, str):
            return found
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find_json_ld_date(item)
            if found:
                return found
    return None


def _published_time(tree: Any) -> datetime | None:
    """A full publication time from the page's metadata, when it states one."""
    candidates = [str(v) for v in tree.xpath(_PUBLISHED_XPATH)]
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            found = _find_json_ld_date(json.loads(script))
        except (ValueError, RecursionError):
            continue
        if found:
            candidates.append(found)
    for value in candidates:
        try:
            found = plausible(date_parser.isoparse(value.strip()))
        except (ValueError, OverflowError):
            continue
        if found:
            return found
    return None


def _day_from_text(html: str, found: str) -> datetime | None:
    """trafilatura's day (htmldate), unless it is only a copyright year read as 1 January."""
    try:
        day = datetime.fromisoformat(found).replace(tzinfo=UTC)
    except ValueError:
        return None
    if (day.month, day.day) == (1, 1) and find_date(html, extensive_search=False) is None:
        # htmldate's last resort is "© 2025" → 2025-01-01; no date at all is more honest.
        return None
    return plausible(day)


def _same_site(a: str, b: str) -> bool:
    host_a = (url_host(a) or "").removeprefix("www.")
    host_b = (url_host(b) or "").removeprefix("www.")
    return bool(host_a) and (
        host_a == host_b or host_a.endswith("." + host_b) or host_b.endswith("." + host_a)
    )


def _paragraphs(text: str, title: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and title and lines[0] == title.strip():
        lines.pop(0)
    return "\n\n".join(lines)


def extract_article(
    html: str,
    *,
    source: str,
    url: str | None = None,
    link_urls: tuple[str, ...] = (),
) -> RawArticle | Reject:
    """The article on an HTML page: title, main text, date, author, canonical URL and language.

    ``url`` is where the page was fetched; the page's canonical URL replaces it only when it
    is on the same site, so one page cannot overwrite another outlet's article.
    """
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        return Reject(source, "broken HTML", str(exc)[:200])
    published_at = _published_time(tree)
    language = language_tag(tree.get("lang"))
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"extensive_search": True, "original_date": True},
    )
    if document is None or not (document.text or "").strip():
        return Reject(source, "no article text found", "trafilatura found no main text")
    title = (document.title or "").strip()
    text = _paragraphs(document.text, title)
    if len(text) > MAX_ARTICLE_CHARS:
        return Reject(source, "too large", f"article text longer than {MAX_ARTICLE_CHARS} characters")
    # Counted once cleaned as the store cleans it: zero-width characters are no text.
    cleaned = len(clean_text(text))
    if cleaned < MIN_PAGE_TEXT_CHARS:
        return Reject(source, "no article text found", f"only {cleaned} characters of main text")
    if published_at is None and document.date:
        published_at = _day_from_text(html, document.date)
    parts = url_parts(document.url)
    canonical = document.url if parts and parts.scheme in ("http", "https") else None
    if url and canonical and not _same_site(url, canonical):
        canonical = None
    final_url = canonical or url
    aliases = tuple(dict.fromkeys(u for u in (url, *link_urls) if u and u != final_url))
    return RawArticle(
        source=source,
        url=final_url,
        outlet=(document.sitename or "").strip() or None,
        published_at=published_at,
        title=title,
        text=text,
        language=language,
        author=(document.author or "").strip() or None,
        link_urls=aliases,
    )


def read_html(
    data: bytes,
    *,
    source: str,
    url: str | None = None,
    charset: str | None = None,
    link_urls: tuple[str, ...] = (),
) -> RawArticle | Reject:
    """Decode and extract one page; a reject names the source and what was wrong."""
    if not data.strip():
        return Reject(source, "empty text", "the page is empty")
    try:
        html = decode_html(data, charset)
    except Undecodable as exc:
        return Reject(source, "undecodable bytes", str(exc))
    if "\x00" in html[:_PRESCAN_BYTES]:
        return Reject(source, "binary data", "NUL bytes where HTML was expected")
    return extract_article(html, source=source, url=url, link_urls=link_urls)
