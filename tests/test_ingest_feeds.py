"""RSS and Atom feeds: entries, summaries vs full content, unsafe XML, feeds that are not feeds."""

from __future__ import annotations

import gzip
import io
import time
from datetime import UTC, datetime

import feedparser
import pytest
from ingest_server import (
    ZELENSKY_PAGE,
    LoopbackServer,
    article_page,
    fixture,
    loopback_only,
    static,
    status,
)

from tonewatch.flows.fetch import FetchSettings, new_client
from tonewatch.flows.ingest_config import SourceSpec
from tonewatch.flows.sources import fetch_pages, read_url
from tonewatch.flows.sources.feeds import PendingPage, parse_feed, scan_prolog
from tonewatch.transforms.records import Reject

BASE = "http://127.0.0.1:8"
SETTINGS = FetchSettings(timeout_seconds=2.0, connect_timeout_seconds=1.0, max_bytes=2 * 1024 * 1024)


def test_rss_entry_with_full_content_is_an_article():
    parsed = parse_feed(
        fixture("feed_rss.xml", BASE), source="rss", base_url=BASE + "/feed", fetch_pages=True
    )
    (article,) = parsed.articles
    assert article.title == "Lavrov says Moscow is ready for a second round"
    assert article.url == BASE + "/news/lavrov-second-round?utm_source=rss&utm_medium=feed"
    assert article.published_at == datetime(2025, 2, 23, 11, 5, tzinfo=UTC)
    assert (article.author, article.outlet, article.language) == ("Anna Petrova", "Loopback Wire", "en")
    assert article.text.split("\n\n")[1].startswith('"We are ready to continue the dialogue," Lavrov')
    assert not article.is_summary and parsed.rejects == []


def test_rss_summary_only_entries_become_pages_to_fetch():
    parsed = parse_feed(
        fixture("feed_rss.xml", BASE), source="rss", base_url=BASE + "/feed", fetch_pages=True
    )
    assert [p.url for p in parsed.pages] == [BASE + "/pages/zelensky", BASE + "/pages/missing"]
    assert parsed.pages[0] == PendingPage(
        url=BASE + "/pages/zelensky",
        source="rss",
        title="Zelensky: no deal about Ukraine without Ukraine",
        summary="Zelensky said Kyiv would not accept a deal made over its head.",
        published_at=datetime(2025, 2, 23, 18, 30, tzinfo=UTC),
        author=None,
        outlet="Loopback Wire",
        language="en",
    )


def test_without_fetching_summaries_are_stored_and_flagged():
    parsed = parse_feed(fixture("feed_rss.xml", BASE), source="rss", fetch_pages=False)
    assert parsed.pages == []
    assert [(a.title[:8], a.is_summary) for a in parsed.articles] == [
        ("Lavrov s", False),
        ("Zelensky", True),
        ("A story ", True),
    ]
    assert parsed.articles[1].text == "Zelensky said Kyiv would not accept a deal made over its head."


def test_atom_entries_html_and_xhtml_content_and_relative_links():
    parsed = parse_feed(
        fixture("feed_atom.xml", BASE), source="atom", base_url=BASE + "/atom", fetch_pages=True
    )
    assert parsed.pages == []
    first, second = parsed.articles
    assert first.published_at == datetime(2025, 2, 24, 7, 15, tzinfo=UTC)
    assert first.text.startswith("U.S. Secretary of State Marco Rubio said on Monday")
    assert "\n\n" in first.text and "<p>" not in first.text
    assert (first.author, first.outlet) == ("John Miller", "Loopback Atom Desk")
    assert second.url == BASE + "/news/peskov-summit"
    assert second.published_at == datetime(2025, 2, 24, 10, 0, tzinfo=UTC)  # <updated> when unpublished
    assert second.text.endswith('"Such statements do not help," Peskov told reporters.')


def test_rss_091_with_the_netscape_doctype_is_read_without_fetching_the_dtd():
    parsed = parse_feed(fixture("feed_rss091.xml", BASE), source="old", fetch_pages=False)
    (article,) = parsed.articles
    assert article.title == "Caf\u00e9 talks in Gen\u00e8ve end without a statement"
    assert article.published_at is None


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("billion_laughs.xml", "DOCTYPE with an internal subset (entity declarations)"),
        ("external_entity.xml", "DOCTYPE with an internal subset (entity declarations)"),
    ],
)
def test_entity_declarations_reject_the_feed_before_parsing(name, detail):
    started = time.monotonic()
    assert parse_feed(fixture(name, BASE), source=name) == Reject(name, "unsafe XML", detail)
    assert time.monotonic() - started < 1


def test_feedparser_alone_does_not_expand_entities_either():
    # Defence in depth: feedparser 6 drops entity declarations and falls back to its loose
    # parser, so "&lol9;" stays literal and nothing from /etc/passwd is read.
    laughs = feedparser.parse(io.BytesIO(fixture("billion_laughs.xml", BASE)))
    assert laughs.bozo and len(laughs.entries[0].title) < 100
    leaky = feedparser.parse(io.BytesIO(fixture("external_entity.xml", BASE)))
    assert "root:" not in leaky.entries[0].title


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (b"<!DOCTYPE html><html><body><p>Our feed moved</p></body></html>", "not a feed", "an HTML page"),
        (b"<html><head><title>Feed</title></head></html>", "not a feed", "an HTML page"),
        (b'{"items": []}', "not a feed", "not XML; expected RSS or Atom"),
        (
            b"<?xml version='1.0'?><opml version='2.0'/>",
            "not a feed",
            "root element <opml>; expected RSS or Atom",
        ),
        (b"/etc/hostname", "not a feed", "not XML; expected RSS or Atom"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a feed", "not XML; expected RSS or Atom"),
        (
            b'<?xml version="1.0"?><!ENTITY x "y"><rss/>',
            "unsafe XML",
            "<!ENTITY> declaration before the root element",
        ),
    ],
    ids=["html5", "html", "json", "opml", "a-path", "png", "bare-entity"],
)
def test_documents_that_are_not_feeds_are_rejected(data, reason, detail):
    rejected = parse_feed(data, source="x")
    assert isinstance(rejected, Reject)
    assert (rejected.reason, rejected.detail[: len(detail)]) == (reason, detail)


def test_prolog_scan_skips_declaration_comments_and_bom():
    data = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a <comment> -->\n<?xml-stylesheet href="x"?>\n<rss/>'
    assert scan_prolog(data).root == "rss"
    assert scan_prolog("\ufeff<feed/>".encode("utf-16")).root == "feed"


# ---------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer({})
    srv.routes.update(
        {
            "/rss": static(fixture("feed_rss.xml", srv.base), "application/rss+xml"),
            "/rss.gz": static(
                gzip.compress(fixture("feed_rss.xml", srv.base)),
                "application/rss+xml",
                **{"Content-Encoding": "gzip"},
            ),
            "/html-feed": static(b"<!DOCTYPE html><html><body><h1>We moved our feed</h1></body></html>"),
            "/laughs": static(fixture("billion_laughs.xml", srv.base), "application/xml"),
            "/pages/zelensky": static(article_page(*ZELENSKY_PAGE).encode()),
            "/pages/missing": status(404),
            "/pages/busy": status(503),
            "/gone-feed": status(410),
        }
    )
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    loopback_only(monkeypatch)


def _read(server, path, kind="auto", **options):
    with new_client(SETTINGS) as client:
        return read_url(SourceSpec(server.url(path), kind=kind), client=client, settings=SETTINGS, **options)


@pytest.mark.parametrize("path", ["/rss", "/rss.gz"])
def test_feed_url_is_recognised_and_read(server, path):
    result = _read(server, path)
    assert [a.title for a in result.articles] == ["Lavrov says Moscow is ready for a second round"]
    assert [p.url for p in result.pages] == [server.url("/pages/zelensky"), server.url("/pages/missing")]
    assert result.fetches[0].url == server.url(path)


def test_feed_that_is_html_is_rejected_when_a_feed_was_expected(server):
    result = _read(server, "/html-feed", kind="feed")
    assert result.rejects == [Reject(server.url("/html-feed"), "not a feed", "an HTML page")]
    assert result.articles == []


def test_unsafe_feed_url_is_rejected_even_when_the_kind_is_guessed(server):
    (rejected,) = _read(server, "/laughs").rejects
    assert rejected.reason == "unsafe XML"


def test_failing_feed_url_is_a_reject_with_the_status(server):
    assert _read(server, "/gone-feed").rejects == [
        Reject(server.url("/gone-feed"), "HTTP 410", server.url("/gone-feed"))
    ]


def test_pages_of_summary_entries_are_fetched_and_merged_with_the_entry(server):
    parsed = _read(server, "/rss")
    pages = [
        *parsed.pages,
        PendingPage(server.url("/pages/busy"), server.url("/rss"), "Busy", "", None, None, None, None),
    ]
    with new_client(SETTINGS) as client:
        result = fetch_pages(pages, client=client, settings=SETTINGS)
    (article,) = result.articles
    assert article.title == "Zelensky: no deal about Ukraine without Ukraine"
    assert article.source == server.url("/rss")
    assert article.published_at == datetime(2025, 2, 23, 18, 30, tzinfo=UTC)  # the feed's exact time
    assert article.text.startswith("Ukrainian President Volodymyr Zelensky said on Sunday")
    (missing,) = result.rejects
    assert (missing.source, missing.reason) == (server.url("/pages/missing"), "HTTP 404")
    assert missing.detail.endswith(f"linked from {server.url('/rss')}")
    assert [(f.url, f.outcome) for f in result.fetches] == [(server.url("/pages/missing"), "rejected")]
    ((page, failure),) = result.failed
    assert (page.url, failure.reason, failure.is_transient) == (server.url("/pages/busy"), "HTTP 503", True)
