"""Article pages: charsets from the header and the page, trafilatura extraction, dates, canonical URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from ingest_server import (
    FRENCH_PAGE,
    RUSSIAN_PAGE,
    ZELENSKY_PAGE,
    LoopbackServer,
    article_page,
    loopback_only,
    static,
)

from tonewatch.flows.fetch import FetchSettings, new_client
from tonewatch.flows.ingest_config import SourceSpec
from tonewatch.flows.sources import read_url
from tonewatch.flows.sources.pages import decode_html, extract_article, read_html
from tonewatch.transforms.records import RawArticle, Reject

SETTINGS = FetchSettings(timeout_seconds=2.0, connect_timeout_seconds=1.0)
RU_TITLE, FR_TITLE = RUSSIAN_PAGE[0], FRENCH_PAGE[0]
SMART_QUOTES = "\u201cWe listened,\u201d an envoy said of the talks in Geneva on Wednesday."


def _page(spec: tuple[str, list[str]], **options) -> str:
    return article_page(*spec, **options)


ROUTES = {
    "/utf8": static(_page(FRENCH_PAGE, lang="fr").encode(), "text/html; charset=utf-8"),
    "/cp1251-header": static(
        _page(RUSSIAN_PAGE, lang="ru").encode("cp1251"), "text/html; charset=windows-1251"
    ),
    "/cp1251-meta": static(
        _page(RUSSIAN_PAGE, lang="ru", meta_charset="windows-1251").encode("cp1251"), "text/html"
    ),
    "/latin1-header": static(
        _page(FRENCH_PAGE, lang="fr").encode("latin-1"), "text/html; charset=ISO-8859-1"
    ),
    "/latin1-meta": static(
        _page(FRENCH_PAGE, lang="fr", http_equiv_charset="iso-8859-1").encode("latin-1"), "text/html"
    ),
    # Labelled latin-1, written in windows-1252: browsers (and tonewatch) read the curly quotes.
    "/cp1252-labelled-latin1": static(
        _page((ZELENSKY_PAGE[0], [SMART_QUOTES, *ZELENSKY_PAGE[1]])).encode("cp1252"),
        "text/html; charset=iso-8859-1",
    ),
    "/utf8-bom": static(b"\xef\xbb\xbf" + _page(FRENCH_PAGE).encode(), "text/html"),
    "/lying-header": static(_page(RUSSIAN_PAGE).encode("cp1251"), "text/html; charset=utf-8"),
    "/undeclared-cp1251": static(_page(RUSSIAN_PAGE).encode("cp1251"), "text/html"),
}


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer(ROUTES)
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    loopback_only(monkeypatch)


def _fetch_page(server, path):
    with new_client(SETTINGS) as client:
        result = read_url(SourceSpec(server.url(path), kind="page"), client=client, settings=SETTINGS)
    return (result.articles or result.rejects)[0]


@pytest.mark.parametrize(
    ("path", "title", "snippet", "language"),
    [
        ("/utf8", FR_TITLE, "se sont séparés sans déclaration commune", "fr"),
        ("/cp1251-header", RU_TITLE, "Пресс-секретарь Кремля Дмитрий Песков", "ru"),
        ("/cp1251-meta", RU_TITLE, "переговоры российской и американской", "ru"),
        ("/latin1-header", FR_TITLE, "« Nous avons écouté, nous avons noté »", "fr"),
        ("/latin1-meta", FR_TITLE, "se sont réunis mercredi à Genève", "fr"),
        ("/cp1252-labelled-latin1", ZELENSKY_PAGE[0], SMART_QUOTES, "en"),
        ("/utf8-bom", FR_TITLE, "dans un café près du lac", "en"),
    ],
)
def test_pages_are_decoded_by_their_declared_charset(server, path, title, snippet, language):
    article = _fetch_page(server, path)
    assert isinstance(article, RawArticle), article
    assert article.title == title
    assert snippet in article.text
    assert article.language == language
    assert article.url == server.url(path)


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/lying-header", "not utf-8 as the HTTP header says: byte "),
        ("/undeclared-cp1251", "no charset declared and not UTF-8: byte "),
    ],
)
def test_bytes_that_are_not_the_declared_charset_are_rejected(server, path, detail):
    rejected = _fetch_page(server, path)
    assert isinstance(rejected, Reject)
    assert (rejected.source, rejected.reason) == (server.url(path), "undecodable bytes")
    assert rejected.detail.startswith(detail)


def test_decode_html_prefers_bom_then_header_then_meta():
    page = '<meta charset="koi8-r"><p>Привет</p>'
    assert decode_html(page.encode("koi8-r")) == page
    assert decode_html(page.encode("cp1251"), "windows-1251") == page
    assert decode_html(b"\xff\xfe" + "<p>Hi</p>".encode("utf-16-le"), "windows-1251") == "<p>Hi</p>"
    assert decode_html(page.encode("koi8-r"), "no-such-charset") == page


# ---------------------------------------------------------------- extraction


def test_extraction_takes_title_text_author_time_and_same_site_canonical():
    html = _page(
        ZELENSKY_PAGE,
        published="2025-02-23T20:30:00+02:00",
        author="Olena Kovalenko",
        canonical="https://www.loopback.example/world/zelensky-no-deal",
    )
    article = extract_article(html, source="s", url="https://loopback.example/p?id=1")
    assert article.title == ZELENSKY_PAGE[0]
    assert article.text.split("\n\n") == ZELENSKY_PAGE[1]
    assert article.published_at == datetime(2025, 2, 23, 20, 30, tzinfo=timezone(timedelta(hours=2)))
    assert (article.author, article.outlet) == ("Olena Kovalenko", "Loopback Times")
    assert article.url == "https://www.loopback.example/world/zelensky-no-deal"
    assert article.link_urls == ("https://loopback.example/p?id=1",)


def test_canonical_url_on_another_site_is_ignored():
    # Otherwise one page could overwrite another outlet's stored article.
    html = _page(ZELENSKY_PAGE, canonical="https://other-outlet.example/their-story")
    article = extract_article(html, source="s", url="https://loopback.example/p/1")
    assert article.url == "https://loopback.example/p/1"


def test_json_ld_date_published_is_read():
    html = _page(ZELENSKY_PAGE).replace(
        "</head>",
        '<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle",'
        ' "datePublished": "2025-02-23T18:30:00Z"}]}</script></head>',
    )
    assert extract_article(html, source="s").published_at == datetime(2025, 2, 23, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "published_at"),
    [
        ('<p class="date">23 February 2025</p>', datetime(2025, 2, 23, tzinfo=UTC)),
        ("", None),  # only "Copyright 2025" in the footer: not 1 January 2025
    ],
    ids=["date-in-text", "copyright-year-only"],
)
def test_date_from_the_text_when_metadata_has_none(extra, published_at):
    html = _page(ZELENSKY_PAGE).replace("<h1>", extra + "<h1>")
    assert extract_article(html, source="s").published_at == published_at


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty text"),
        (b"   \n ", "empty text"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text found"),
        (b"<html>\x00\x01\x02\x03</html>", "binary data"),
        (bytes(range(128, 256)) * 4, "undecodable bytes"),
    ],
    ids=["empty", "blank", "navigation-only", "nul-bytes", "binary-junk"],
)
def test_pages_without_an_article_are_rejected(data, reason):
    rejected = read_html(data, source="page")
    assert isinstance(rejected, Reject)
    assert (rejected.source, rejected.reason) == ("page", reason)
