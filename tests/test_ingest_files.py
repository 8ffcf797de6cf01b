"""File sources (HTML, JSON, JSON lines, CSV with mappings, junk) and the ingest config."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from ingest_server import DATA, fixture

from tonewatch.flows.fetch import FetchSettings
from tonewatch.flows.ingest_config import (
    IngestConfig,
    Outlet,
    SourceSpec,
    load_config,
    parse_field_map,
)
from tonewatch.flows.settings import DEFAULT_INGEST_CONFIG
from tonewatch.flows.sources import finish_article, read_files
from tonewatch.flows.sources.files import SUPPORTED_SUFFIXES, read_file
from tonewatch.transforms.errors import ConfigError
from tonewatch.transforms.records import RawArticle, Reject

JSONL_MAP = parse_field_map(
    ["url=link", "title=headline", "text=body", "published_at=date", "outlet=site", "author=byline.name"]
)
CSV_MAP = parse_field_map(["url=Source URL", "title=Headline", "text=Story", "published_at=Published"])


def test_html_file_is_extracted_with_its_metadata():
    (article,) = read_file(DATA / "article.html")
    assert article.title == "Kyiv rejects ceasefire terms set in Moscow"
    assert article.url == "https://www.saved-page-times.example/world/kyiv-rejects-terms#top"
    assert article.published_at == datetime(2025, 3, 2, 7, 45, tzinfo=timezone(timedelta(hours=2)))
    assert (article.author, article.outlet, article.language) == ("Olena Kovalenko", "Saved Page Times", "en")
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("Ukraine's foreign minister said on Sunday")
    assert len(paragraphs) == 4
    assert not any(word in article.text for word in ("Subscribe", "Copyright", "Most read", "By Olena"))


def test_jsonl_with_a_field_mapping_and_nested_and_epoch_values():
    first, second, rejected = read_file(DATA / "export.jsonl", field_map=JSONL_MAP)
    assert first == RawArticle(
        source=f"{DATA / 'export.jsonl'}:1",
        url="https://desk.example.org/a/101",
        outlet="Desk Export",
        published_at=datetime(2025, 2, 24, 9, 15, tzinfo=timezone(timedelta(hours=3))),
        title="Peskov: talks are moving in the right direction",
        text="Kremlin spokesman Dmitry Peskov said on Monday that talks with Washington were moving in the"
        " right direction.",
        author="Ivan Sokolov",
    )
    assert second.published_at == datetime(2025, 2, 25, 10, 15, tzinfo=UTC)
    assert rejected == Reject(
        f"{DATA / 'export.jsonl'}:3", "bad field", "field 'text' (column 'body') must be a string, got None"
    )


def test_csv_with_a_column_mapping():
    first, second, rejected = read_file(DATA / "export.csv", field_map=CSV_MAP)
    assert (first.url, first.title, first.published_at) == (
        "https://csv.example.net/n/1",
        "Rubio: Europe must be at the table",
        datetime(2025, 2, 24, 12, 0),
    )
    assert second.title == 'Lavrov praises "constructive" meeting'
    assert second.text == '"It was a constructive meeting," Lavrov said after the talks in Riyadh.'
    assert rejected == Reject(
        f"{DATA / 'export.csv'}:4", "bad field", "field 'text' (column 'Story') must be a string, got None"
    )


def test_csv_without_the_text_column_names_the_columns_and_the_fix():
    (rejected,) = read_file(DATA / "export.csv")
    assert rejected.reason == "missing column"
    assert rejected.detail == (
        "no column 'text' for the text; columns: Source URL, Headline, Story, Published"
        " (use --map text=COLUMN)"
    )


def test_json_document_with_an_articles_list():
    article, rejected = read_file(DATA / "export.json")
    assert (article.title, article.published_at) == (
        "Kyiv says talks must include Europe",
        datetime(2025, 2, 25, 10, 0, tzinfo=UTC),
    )
    assert rejected == Reject(
        f"{DATA / 'export.json'}[1]", "bad field", "field 'title' must be a string, got 42"
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("junk.txt", bytes(range(256)) * 8, "not UTF-8 text"),
        ("nul.md", b"# Title\n\n\x00\x00\x00 body", "binary data"),
        ("junk.html", bytes(range(128, 256)) * 8, "undecodable bytes"),
        ("junk.xml", b"\x1f\x8b\x08\x00garbage", "not a feed"),
        ("junk.json", b"\x89PNG\r\n", "not UTF-8 text"),
        ("broken.json", b'{"title": "x", "text": ', "not valid JSON"),
        ("empty.html", b"", "empty text"),
        ("empty.json", b"  \n", "empty text"),
        ("empty.xml", b"", "empty text"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "unsupported file type"),
    ],
)
def test_unusable_files_are_one_reject_each(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    (rejected,) = read_file(path)
    assert isinstance(rejected, Reject)
    assert (rejected.source, rejected.reason) == (str(path), reason)


def test_empty_csv_reads_nothing(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert list(read_file(tmp_path / "empty.csv")) == []


def test_every_supported_suffix_has_a_reader():
    expected = {".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv", ".xml", ".rss", ".atom"}
    assert expected == SUPPORTED_SUFFIXES


def test_saved_feed_file_is_read_and_its_pages_are_left_to_fetch(tmp_path):
    (tmp_path / "saved.rss").write_bytes(fixture("feed_rss.xml", "http://127.0.0.1:8"))
    offline = read_files(SourceSpec(str(tmp_path)), fetch_pages=False)
    assert [a.is_summary for a in offline.articles] == [False, True, True]
    online = read_files(SourceSpec(str(tmp_path)), fetch_pages=True)
    assert len(online.articles) == 1 and len(online.pages) == 2


def test_folder_source_collects_articles_and_rejects(tmp_path):
    shutil.copytree(DATA / "syndicated", tmp_path / "news")
    (tmp_path / "news" / "notes.pdf").write_bytes(b"%PDF")
    result = read_files(SourceSpec(str(tmp_path / "news")))
    assert len(result.articles) == 3
    assert [(Path(r.source).name, r.reason) for r in result.rejects] == [
        ("notes.pdf", "unsupported file type")
    ]
    missing = read_files(SourceSpec(str(tmp_path / "nowhere")))
    assert missing.rejects == [Reject(str(tmp_path / "nowhere"), "no such file or folder")]


def test_seed_article_is_read_as_a_file_source(seed_article):
    (article,) = read_files(SourceSpec(str(seed_article))).articles
    assert article.url.startswith("https://www.themoscowtimes.com/")
    config = load_config()
    assert finish_article(article, SourceSpec(str(seed_article)), config).outlet == "The Moscow Times"


# ---------------------------------------------------------------- the config


def test_shipped_config_lists_feeds_from_each_capital_and_outlets():
    config = load_config("default")
    homes = {config.outlet_for(s.location).home for s in config.sources}
    assert {"moscow", "kyiv", "washington"} <= homes
    assert all(s.location.startswith(("http://", "https://")) and s.kind == "feed" for s in config.sources)
    assert config.fetch == FetchSettings()
    text = DEFAULT_INGEST_CONFIG.read_text(encoding="utf-8")
    assert "FEED ADDRESSES CHANGE" in text and "rejects" in text
    assert load_config().sources == ()  # no --config: the shipped feeds are not fetched


def test_user_config_merges_over_the_shipped_outlets(tmp_path):
    path = tmp_path / "tonewatch.toml"
    path.write_text(
        """
        [fetch]
        timeout_seconds = 5
        retry_delays_seconds = [0, 1]

        [outlets]
        "tass.com" = { name = "TASS English" }
        "wire.example" = { name = "Example Wire", home = "Kyiv" }

        [sources.archive]
        path = "archive"
        map = { text = "body" }

        [sources.wire]
        url = "https://wire.example/rss"
        kind = "feed"
        outlet = "Example Wire (feed)"
        fetch_pages = false
        """,
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.fetch.timeout_seconds == 5 and config.fetch.retry_delays_seconds == (0, 1)
    assert config.outlets["tass.com"] == Outlet("TASS English", None)
    assert config.outlet_for("https://news.wire.example/a") == Outlet("Example Wire", "kyiv")
    assert config.outlet_for("https://www.kyivindependent.com/x") == Outlet("The Kyiv Independent", "kyiv")
    archive, wire = config.sources
    assert (archive.location, archive.field_map) == (str(tmp_path / "archive"), (("text", "body"),))
    assert (wire.kind, wire.outlet, wire.fetch_pages) == ("feed", "Example Wire (feed)", False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources.a]\nurl = 'https://x.example/rss'\nkindd = 'feed'", r'source "a": unknown key \'kindd\''),
        ("[sources.a]\nkind = 'feed'", r'source "a": give exactly one of url or path'),
        ("[sources.a]\nurl = 'x.example/rss'", r'source "a": url must be written as http\(s\)://'),
        ("[sources.a]\npath = 'p'\nkind = 'rss'", r'source "a": kind must be one of auto, feed, page, files'),
        ("[sources.a]\npath = 'p'\nhome = 'paris'", r"home must be one of moscow, kyiv, washington, europe"),
        ("[sources.a]\npath = 'p'\nmap = { body = 'text' }", r"unknown article field 'body'"),
        ("[outlets]\n'https://tass.com' = { name = 'TASS' }", r'outlet "https://tass.com": expected a host'),
        ("[fetch]\ntimeout_seconds = -1", r"\[fetch\]: timeout_seconds must be a positive number, got -1"),
        ("[fetch]\nretries = 3", r"\[fetch\]: unknown key 'retries'"),
        ("[feeds]\nx = 1", r"unknown key 'feeds'; expected one of fetch, outlets, sources"),
        ("[sources\n", r"not valid TOML"),
    ],
)
def test_config_errors_name_the_file_entry_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ".*" + message):
        load_config(path)


def test_missing_config_file_is_one_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml: no such file"):
        load_config(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["text"], r"--map: expected FIELD=COLUMN like text=body, got 'text'"),
        (["=body"], r"expected FIELD=COLUMN"),
        (["body=text"], r"--map: unknown article field 'body'; expected one of url, outlet"),
    ],
)
def test_field_map_errors(items, message):
    with pytest.raises(ConfigError, match=message):
        parse_field_map(items)


def _raw(url: str | None, outlet: str | None = None, home: str | None = None) -> RawArticle:
    return RawArticle("s", url, outlet, None, "Title", "Text.", outlet_home=home)


@pytest.mark.parametrize(
    ("raw", "spec", "outlet", "home"),
    [
        (_raw("https://tass.com/politics/1"), SourceSpec("f"), "TASS", "moscow"),
        (_raw("https://en.kremlin.ru/events/1"), SourceSpec("f"), "President of Russia (Kremlin)", "moscow"),
        (
            _raw("https://tass.com/p/1", "tass.com"),
            SourceSpec("f", outlet="Mine", home="other"),
            "Mine",
            "other",
        ),
        (_raw("https://unknown.example/1", "Feed Title"), SourceSpec("f"), "Feed Title", None),
        (_raw("https://unknown.example/1"), SourceSpec("f"), "unknown.example", None),
        (_raw(None, "JSON outlet", "kyiv"), SourceSpec("f"), "JSON outlet", "kyiv"),
        (_raw("https://mirror.example/1"), SourceSpec("https://www.rt.com/rss/news/"), "RT", "moscow"),
    ],
    ids=["host", "subdomain", "source-override", "feed-title", "bare-host", "record-fields", "feed-host"],
)
def test_outlet_and_home_come_from_the_source_then_the_host_table(raw, spec, outlet, home):
    finished = finish_article(raw, spec, load_config())
    assert (finished.outlet, finished.outlet_home) == (outlet, home)


def test_source_language_applies_only_when_the_article_has_none():
    config = IngestConfig()
    spec = SourceSpec("f", language="uk")
    assert finish_article(_raw("https://x.example/1"), spec, config).language == "uk"
