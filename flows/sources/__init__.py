"""Source readers: a source is a URL, a file or a folder; the readers table picks by kind.

Each reader returns a ``SourceResult``: raw articles, rejects, feed entries whose pages are
still to fetch, and what was learnt about each fetched URL (validators, outcome), which the
flow stores only after the articles themselves are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from ...transforms.records import RawArticle, Reject
from ..fetch import FEED_ACCEPT, FetchFailed, FetchSettings, Response, Validators, fetch
from ..ingest_config import IngestConfig, SourceSpec, is_url
from .feeds import ParsedFeed, PendingPage, looks_like_feed, parse_feed
from .files import iter_source_files, read_file
from .pages import read_html
from .tabular import host_outlet

__all__ = [
    "READERS",
    "FetchRecord",
    "PagesResult",
    "PendingPage",
    "SourceResult",
    "fetch_pages",
    "finish_article",
    "read_files",
    "read_path",
    "read_url",
    "source_kind",
]

URL_ACCEPT = FEED_ACCEPT.replace("*/*;q=0.5", "text/html;q=0.8, */*;q=0.5")


@dataclass(frozen=True)
class FetchRecord:
    """What one fetch of a URL taught: its validators and whether the URL proved unusable."""

    url: str
    status: int | None
    validators: Validators = Validators()
    outcome: str = "ok"  # "ok", or "rejected": not usable, not worth fetching again soon


@dataclass
class SourceResult:
    """Everything read from one source."""

    source: str
    articles: list[RawArticle] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    pages: list[PendingPage] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    is_not_modified: bool = False


@dataclass
class PagesResult:
    """Pages fetched for feed entries; ``failed`` holds those worth another try."""

    articles: list[RawArticle] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    failed: list[tuple[PendingPage, FetchFailed]] = field(default_factory=list)


def read_path(source: Path) -> Iterator[RawArticle | Reject | PendingPage]:
    """Every article in a file or folder (recursively); unusable inputs come out as rejects."""
    if not source.exists():
        yield Reject(str(source), "no such file or folder")
        return
    for path in iter_source_files(source):
        yield from read_file(path)


def read_files(spec: SourceSpec, *, fetch_pages: bool = False) -> SourceResult:
    """A file or a folder (recursively), each file read by its suffix."""
    result = SourceResult(spec.location)
    root = Path(spec.location).expanduser()
    if not root.exists():
        result.rejects.append(Reject(spec.location, "no such file or folder"))
        return result
    for path in iter_source_files(root):
        for item in read_file(path, field_map=spec.field_map, fetch_pages=fetch_pages and spec.fetch_pages):
            if isinstance(item, Reject):
                result.rejects.append(item)
            elif isinstance(item, PendingPage):
                result.pages.append(item)
            else:
                result.articles.append(item)
    return result


def read_url(
    spec: SourceSpec,
    *,
    client: httpx.Client,
    settings: FetchSettings,
    validators: Validators | None = None,
    fetch_pages: bool = True,
) -> SourceResult:
    """Fetch a feed or an article page; a transient failure raises ``FetchFailed`` for a retry."""
    result = SourceResult(spec.location)
    try:
        response = fetch(client, spec.location, settings=settings, validators=validators, accept=URL_ACCEPT)
    except FetchFailed as failure:
        if failure.is_transient:
            raise
        result.rejects.append(Reject(spec.location, failure.reason, failure.detail))
        return result
    if response.is_not_modified:
        result.is_not_modified = True
        return result
    # Validators are kept for a source that answered, even with something unusable: a
    # conditional request next time costs the server nothing if it has not changed.
    result.fetches.append(FetchRecord(spec.location, response.status, response.validators))
    if not response.content.strip():
        result.rejects.append(Reject(spec.location, "empty text", f"HTTP {response.status} with no body"))
        return result
    kind = spec.kind
    if kind == "auto":
        kind = "feed" if looks_like_feed(response.content) else "page"
    if kind == "feed":
        parsed = parse_feed(
            response.content,
            source=spec.location,
            base_url=response.final_url,
            media_type=response.media_type,
            fetch_pages=fetch_pages and spec.fetch_pages,
        )
        if isinstance(parsed, ParsedFeed):
            result.articles.extend(parsed.articles)
            result.pages.extend(parsed.pages)
            result.rejects.extend(parsed.rejects)
        else:
            result.rejects.append(parsed)
        return result
    page = _page_article(response, source=spec.location, link_urls=(spec.location, *response.redirects))
    (result.rejects if isinstance(page, Reject) else result.articles).append(page)
    return result


def _page_article(response: Response, *, source: str, link_urls: tuple[str, ...]) -> RawArticle | Reject:
    return read_html(
        response.content,
        source=source,
        url=response.final_url,
        charset=response.charset,
        link_urls=link_urls,
    )


def _fetch_page(
    client: httpx.Client, page: PendingPage, settings: FetchSettings
) -> RawArticle | Reject | FetchFailed:
    try:
        response = fetch(client, page.url, settings=settings, origin=page.source)
    except FetchFailed as failure:
        if failure.is_transient:
            return failure
        return Reject(page.url, failure.reason, f"{failure.detail}; linked from {page.source}".lstrip("; "))
    article = _page_article(response, source=page.url, link_urls=(page.url, *response.redirects))
    if isinstance(article, Reject):
        return replace(article, detail=f"{article.detail}; linked from {page.source}".lstrip("; "))
    return replace(
        article,
        source=page.source,
        title=article.title or page.title,
        # The feed's time is exact; a page often states only the day.
        published_at=page.published_at or article.published_at,
        author=article.author or page.author,
        language=article.language or page.language,
        outlet=article.outlet or page.outlet,
    )


def fetch_pages(pages: list[PendingPage], *, client: httpx.Client, settings: FetchSettings) -> PagesResult:
    """Fetch and extract feed entries' pages, ``settings.concurrency`` at a time."""
    result = PagesResult()
    if not pages:
        return result
    with ThreadPoolExecutor(max_workers=min(settings.concurrency, len(pages))) as pool:
        outcomes = list(pool.map(lambda page: _fetch_page(client, page, settings), pages))
    for page, outcome in zip(pages, outcomes, strict=True):
        if isinstance(outcome, FetchFailed):
            result.failed.append((page, outcome))
        elif isinstance(outcome, Reject):
            result.rejects.append(outcome)
            result.fetches.append(FetchRecord(page.url, None, outcome="rejected"))
        else:
            result.articles.append(outcome)
    return result


def source_kind(spec: SourceSpec) -> str:
    """``url`` for anything written as ``scheme://…`` (non-HTTP schemes are rejected), else ``files``."""
    return "url" if is_url(spec.location) else "files"


READERS: dict[str, Callable[..., SourceResult]] = {"url": read_url, "files": read_files}


def finish_article(raw: RawArticle, spec: SourceSpec, config: IngestConfig) -> RawArticle:
    """Apply the config: the source's own outlet and home, else the outlet table by host."""
    mapped = config.outlet_for(raw.url) or (config.outlet_for(spec.location) if spec.is_url else None)
    outlet = spec.outlet or (mapped.name if mapped else None) or raw.outlet or host_outlet(raw.url)
    home = spec.home or (mapped.home if mapped else None) or raw.outlet_home
    return replace(raw, outlet=outlet, outlet_home=home, language=raw.language or spec.language)
