"""Normalization: canonical URLs, clean text, stable ids and hashes, UTC dates."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tonewatch.transforms.normalize import (
    DEFAULT_HOME,
    DEFAULT_OUTLET,
    article_id_for,
    canonical_url,
    clean_text,
    content_hash,
    normalize_article,
    to_utc,
)
from tonewatch.transforms.records import RawArticle

FETCHED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://news.example.com/2025/02/23/talks?utm_source=rss&utm_medium=feed&id=7",
            "https://news.example.com/2025/02/23/talks?id=7",
        ),
        (
            "https://news.example.com/talks?fbclid=abc&gclid=def&ref=homepage&ocid=x",
            "https://news.example.com/talks",
        ),
        ("https://news.example.com/talks?REF_SRC=twsrc&page=2", "https://news.example.com/talks?page=2"),
        ("https://news.example.com/talks#comments", "https://news.example.com/talks"),
        ("HTTPS://News.Example.COM/Talks/Riyadh", "https://news.example.com/Talks/Riyadh"),
        ("https://news.example.com:443/talks", "https://news.example.com/talks"),
        ("http://news.example.com:80/talks", "http://news.example.com/talks"),
        ("http://news.example.com:8080/talks", "http://news.example.com:8080/talks"),
        ("https://news.example.com", "https://news.example.com/"),
        ("  https://news.example.com/talks  ", "https://news.example.com/talks"),
        ("https://news.example.com/talks?b=2&a=1", "https://news.example.com/talks?b=2&a=1"),
        ("mailto:desk@example.com", "mailto:desk@example.com"),
        ("ftp://files.example.com/talks.txt", "ftp://files.example.com/talks.txt"),
        ("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        ("", None),
        (None, None),
    ],
    ids=[
        "utm-stripped-other-kept",
        "click-ids-stripped",
        "tracking-name-any-case",
        "fragment-dropped",
        "scheme-and-host-lower-path-kept",
        "default-https-port",
        "default-http-port",
        "other-port-kept",
        "empty-path-becomes-slash",
        "surrounding-space",
        "parameter-order-kept",
        "mailto-left-alone",
        "ftp-left-alone",
        "urn-left-alone",
        "empty",
        "none",
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent():
    once = canonical_url("HTTPS://News.Example.com:443/a?utm_campaign=x&q=peace#top")
    assert canonical_url(once) == once == "https://news.example.com/a?q=peace"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u201cWe are ready,\u201d Peskov said.", '"We are ready," Peskov said.'),
        ("Peskov\u2019s aide called it \u2018useful\u2019.", "Peskov's aide called it 'useful'."),
        ("\u00abNever\u00bb, said Zakharova.", '"Never", said Zakharova.'),
        ("\u201eWir sind bereit\u201c, sagte Merz.", '"Wir sind bereit", sagte Merz.'),
        ("President\u00a0Zelensky spoke\u202fat\u2009noon.", "President Zelensky spoke at noon."),
        ("Zelen\u200bsky met Ma\u00adcron.", "Zelensky met Macron."),
        ("\ufeffKyiv replied.", "Kyiv replied."),
        ("Kyiv   replied \t on   Sunday.", "Kyiv replied on Sunday."),
        ("Cafe\u0301 talks", "Caf\u00e9 talks"),
        ("First paragraph.\r\n\r\n\r\nSecond paragraph.", "First paragraph.\n\nSecond paragraph."),
        ("First paragraph.\n  \n\t\nSecond paragraph.", "First paragraph.\n\nSecond paragraph."),
        ("A line\nwrapped inside a paragraph.", "A line\nwrapped inside a paragraph."),
        ("  \n\nPeskov spoke.  \n\n  ", "Peskov spoke."),
        ("", ""),
    ],
    ids=[
        "curly-double-quotes",
        "curly-single-quotes",
        "guillemets",
        "low-opening-quote",
        "nbsp-and-thin-spaces",
        "zero-width-and-soft-hyphen",
        "byte-order-mark",
        "runs-of-spaces",
        "nfc",
        "crlf-paragraphs",
        "blank-lines-with-spaces",
        "single-newline-kept",
        "outer-blank-lines",
        "empty",
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_is_idempotent():
    raw = "\u201cWe are\u00a0ready,\u201d Peskov said.\r\n\r\n\r\n  Kyiv\u200b replied.  "
    assert clean_text(clean_text(raw)) == clean_text(raw)


def _raw(**changes) -> RawArticle:
    fields = dict(
        source="test",
        url="https://news.example.com/talks?utm_source=rss",
        outlet="Example News",
        published_at=datetime(2025, 2, 23, 10, 30),
        title="Talks resume",
        text="\u201cWe are ready,\u201d Peskov said.",
    )
    return RawArticle(**{**fields, **changes})


def test_same_article_same_id_and_hash():
    first, second = (
        normalize_article(_raw(), fetched_at=FETCHED),
        normalize_article(_raw(), fetched_at=FETCHED),
    )
    assert (first.article_id, first.content_hash) == (second.article_id, second.content_hash)
    assert first.article_id == article_id_for("https://news.example.com/talks", first.content_hash)


@pytest.mark.parametrize(
    ("changes", "same_id", "same_hash"),
    [
        ({"url": "https://NEWS.example.com/talks?utm_medium=feed#top"}, True, True),
        ({"text": "\u201cWe are ready,\u201d  Peskov\u00a0said."}, True, True),
        ({"source": "another-file.jsonl", "outlet": "Other"}, True, True),
        ({"text": '"We are not ready," Peskov said.'}, True, False),
        ({"title": "Talks stall"}, True, False),
        ({"url": "https://news.example.com/other-talks"}, False, True),
        ({"url": None}, False, True),
    ],
    ids=[
        "tracking-variant-url",
        "typographic-variant-text",
        "source-and-outlet",
        "edited-text",
        "edited-title",
        "different-url",
        "no-url",
    ],
)
def test_article_id_follows_url_and_hash_follows_content(changes, same_id, same_hash):
    base = normalize_article(_raw(), fetched_at=FETCHED)
    changed = normalize_article(_raw(**changes), fetched_at=FETCHED)
    assert (changed.article_id == base.article_id, changed.content_hash == base.content_hash) == (
        same_id,
        same_hash,
    )


def test_article_without_url_is_identified_by_content():
    first = normalize_article(_raw(url=None), fetched_at=FETCHED)
    edited = normalize_article(_raw(url=None, text="Kyiv replied."), fetched_at=FETCHED)
    assert first.article_id == article_id_for(None, content_hash(first.title, first.text))
    assert first.article_id != edited.article_id


def test_content_hash_is_a_fixed_function_of_title_and_text():
    assert content_hash("Talks resume", "Peskov spoke.") == content_hash("Talks resume", "Peskov spoke.")
    assert content_hash("Talks resume", "Peskov spoke.") != content_hash("Talks resume\n\nPeskov", "spoke.")
    assert len(content_hash("a", "b")) == 32


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 2, 23, 10, 30), datetime(2025, 2, 23, 10, 30, tzinfo=UTC)),
        (
            datetime(2025, 2, 23, 13, 30, tzinfo=timezone(timedelta(hours=3))),
            datetime(2025, 2, 23, 10, 30, tzinfo=UTC),
        ),
        (
            datetime(2025, 2, 22, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2025, 2, 23, 4, 30, tzinfo=UTC),
        ),
        (datetime(2025, 2, 23, 10, 30, tzinfo=UTC), datetime(2025, 2, 23, 10, 30, tzinfo=UTC)),
    ],
    ids=["naive-is-utc", "moscow-time", "new-york-time-crosses-midnight", "already-utc"],
)
def test_to_utc(moment, expected):
    converted = to_utc(moment)
    assert converted == expected
    assert converted.utcoffset() == timedelta(0)


def test_normalize_article_fields():
    article = normalize_article(
        _raw(published_at=None, outlet="  ", title="Talks\nresume", language="EN"), fetched_at=FETCHED
    )
    assert article.published_at == FETCHED
    assert article.outlet == DEFAULT_OUTLET
    assert article.outlet_home == DEFAULT_HOME
    assert article.title == "Talks resume"
    assert article.text == '"We are ready," Peskov said.'
    assert article.url == "https://news.example.com/talks"
    assert article.language == "en"


def test_naive_published_at_is_taken_as_utc():
    article = normalize_article(_raw(), fetched_at=FETCHED)
    assert article.published_at == datetime(2025, 2, 23, 10, 30, tzinfo=UTC)
    assert article.published_at.tzinfo is not None
