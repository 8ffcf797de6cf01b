"""End to end: feeds, pages and files through the real flow, three times, and the `ingest` command.

One loopback server plays every outlet; the flow runs under the session's Prefect harness.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from ingest_server import (
    DATA,
    FRENCH_PAGE,
    RUSSIAN_PAGE,
    ZELENSKY_PAGE,
    LoopbackServer,
    Reply,
    article_page,
    fixture,
    loopback_only,
    static,
    status,
)
from typer.testing import CliRunner

from tonewatch.flows.cli import app

ERDOGAN_PAGE = (
    "Erdogan offers to host the next round of talks",
    [
        "Turkish President Recep Tayyip Erdogan said on Tuesday that Turkey was ready to host the next round"
        " of talks between Russia, Ukraine and the United States.",
        '"Istanbul is ready, as it was in 2022," Erdogan told a news conference in Ankara, standing next to'
        " Zelensky.",
        "Zelensky thanked Erdogan and said that any talks would need Europe at the table as well.",
    ],
)
TABLES = ("articles", "sentences", "mentions", "edges", "article_urls", "article_bands", "near_duplicates")


def _once_busy(body: bytes):
    """503 on the first request, the page afterwards: what a retry is for."""
    calls = Counter()

    def route(_request):
        calls["n"] += 1
        if calls["n"] == 1:
            return Reply(503, {"Content-Type": "text/plain", "Retry-After": "0"}, b"busy")
        return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, body)

    return route


def _with_etag(body: bytes, etag: str):
    def route(request):
        if request.headers.get("if-none-match") == etag:
            return Reply(304, {"ETag": etag})
        return Reply(200, {"Content-Type": "application/rss+xml", "ETag": etag}, body)

    return route


def _feed(base: str, title: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Entry {p}</title><link>{base}{p}</link><description>Summary of {p}.</description>"
        f"<pubDate>Tue, 25 Feb 2025 0{i}:00:00 GMT</pubDate></item>"
        for i, p in enumerate(paths)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>{base}/</link>'
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer({})
    base = srv.base
    srv.routes.update(
        {
            "/rss": _with_etag(fixture("feed_rss.xml", base), '"rss-1"'),
            "/atom": static(fixture("feed_atom.xml", base), "application/atom+xml"),
            "/feed-b": _with_etag(
                _feed(base, "Feed B", ["/pages/flaky", "/pages/ru", "/pages/gone", "/pages/broken"]), '"b-1"'
            ),
            "/pages/zelensky": static(article_page(*ZELENSKY_PAGE).encode()),
            "/pages/missing": status(404),
            "/pages/flaky": _once_busy(article_page(*ERDOGAN_PAGE).encode()),
            "/pages/ru": static(
                article_page(*RUSSIAN_PAGE, lang="ru").encode("cp1251"), "text/html; charset=windows-1251"
            ),
            "/pages/gone": status(410),
            "/pages/broken": status(500),
            "/flaky-source": _once_busy(article_page(*FRENCH_PAGE, lang="fr").encode()),
            "/laughs": static(fixture("billion_laughs.xml", base), "application/rss+xml"),
            "/html-feed": static(b"<!DOCTYPE html><html><body><p>Our feed has moved.</p></body></html>"),
        }
    )
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def inputs(server, tmp_path_factory):
    """A folder of files and a config naming the feeds, the files with their mappings and the outlets."""
    root = tmp_path_factory.mktemp("ingest")
    files = root / "files"
    shutil.copytree(DATA / "syndicated", files / "syndicated")
    shutil.copy(DATA / "article.html", files / "article.html")
    (files / "junk.txt").write_bytes(bytes(range(256)) * 4)
    (files / "empty.html").write_bytes(b"")
    config = root / "tonewatch.toml"
    config.write_text(
        f"""
        [fetch]
        timeout_seconds = 3
        retry_delays_seconds = [0, 0, 0]

        [outlets]
        "127.0.0.1" = {{ name = "Loopback Outlet", home = "kyiv" }}

        [sources.rss]
        url = "{server.url("/rss")}"
        kind = "feed"

        [sources.atom]
        url = "{server.url("/atom")}"
        outlet = "Atom Desk"
        home = "washington"

        [sources.feed-b]
        url = "{server.url("/feed-b")}"

        [sources.moved]
        url = "{server.url("/html-feed")}"
        kind = "feed"

        [sources.desk]
        path = "{DATA / "export.jsonl"}"
        map = {{ url = "link", title = "headline", text = "body", published_at = "date", outlet = "site" }}

        [sources.sheet]
        path = "{DATA / "export.csv"}"
        map = {{ url = "Source URL", title = "Headline", text = "Story", published_at = "Published" }}
        """,
        encoding="utf-8",
    )
    sources = [
        str(files),
        server.url("/flaky-source"),
        server.url("/laughs"),
        "ftp://files.example.com/feed.xml",
    ]
    return root, config, sources


def _counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in TABLES}


@pytest.fixture(scope="module")
def three_runs(prefect_harness, server, inputs):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    root, config, sources = inputs
    db = root / "tonewatch.duckdb"
    runs = []
    for _ in range(3):
        summary, _ = run_flow_cleanly(
            pipeline_flow,
            expected_task_runs=lambda s: s.task_runs,
            sources=sources,
            db_path=str(db),
            report_path=None,
            config_file=str(config),
            flow_label="ingest",
        )
        runs.append((summary, _counts(db), Counter(server.hits)))
    return db, runs


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    loopback_only(monkeypatch)


def test_first_run_stores_every_usable_article(three_runs, server):
    db, [(first, counts, _), *_] = three_runs
    assert first.counts["articles_new"] == counts["articles"] == 15
    assert first.counts["articles_not_english"] == 2
    assert first.counts["sentences_scored"] > 40 and first.counts["edges_found"] > 5
    with duckdb.connect(str(db), read_only=True) as con:
        languages = dict(con.execute("select language, count(*) from articles group by all").fetchall())
        outlets = dict(con.execute("select url, outlet || '/' || outlet_home from articles").fetchall())
        scored = con.execute("select count(distinct article_id) from sentences").fetchall()[0][0]
    assert languages == {"en": 13, "ru": 1, "fr": 1}
    assert scored == 13  # non-English articles are stored, not scored
    assert outlets[server.url("/pages/zelensky")] == "Loopback Outlet/kyiv"
    assert outlets[server.url("/news/rubio-europe")] == "Atom Desk/washington"
    assert outlets["https://desk.example.org/a/101"] == "Desk Export/other"
    assert (
        outlets["https://www.saved-page-times.example/world/kyiv-rejects-terms"] == "Saved Page Times/other"
    )


def test_every_unusable_input_is_a_reject_with_its_reason(three_runs, server):
    db, [(first, *_), *_] = three_runs
    assert first.reject_reasons == Counter(
        {
            "HTTP 404": 1,
            "HTTP 410": 1,
            "HTTP 500": 1,
            "unsafe XML": 1,
            "unsupported URL scheme": 1,
            "not a feed": 1,
            "bad field": 2,
            "not UTF-8 text": 1,
            "empty text": 1,
        }
    )
    line = first.line()
    assert re.search(r", 10 rejected \(2 bad field, 1 \w.*\) in ", line), line
    assert "1 HTTP 404, 1 HTTP 410, 1 HTTP 500" in line
    with duckdb.connect(str(db), read_only=True) as con:
        broken = con.execute(
            "select detail from rejects where source = ? order by rejected_at limit 1",
            [server.url("/pages/broken")],
        ).fetchall()
    assert broken[0][0].endswith(f"linked from {server.url('/feed-b')}; tried again next run")


def test_transient_failures_are_retried_and_bugs_are_not(three_runs, server):
    _, runs = three_runs
    first_hits = runs[0][2]
    assert first_hits["/flaky-source"] == 2  # 503, then the page on the retry
    assert first_hits["/pages/flaky"] == 2
    assert first_hits["/pages/broken"] == 4  # the first attempt and three retries
    assert first_hits["/pages/zelensky"] == first_hits["/pages/ru"] == 1  # not fetched again by the retry


def test_syndicated_copies_are_counted_once(three_runs):
    db, _ = three_runs
    with duckdb.connect(str(db), read_only=True) as con:
        copies = con.execute(
            "select a.url, o.url from articles a join articles o on o.article_id = a.dup_of order by a.url"
        ).fetchall()
        counted = con.execute("select count(*) from counted_edges").fetchall()[0][0]
        every = con.execute("select count(*) from edges").fetchall()[0][0]
    original = "https://www.outlet-one.example/world/2025/02/18/kremlin-riyadh-talks"
    assert copies == [
        ("https://news.outlet-two.example/2025/02/18/moscow-hails-riyadh-meeting", original),
        ("https://outlet-three.example/europe/russia-us-riyadh", original),
    ]
    assert 0 < counted < every


def test_reruns_fetch_only_what_is_new_and_score_nothing(three_runs):
    (
        _,
        [
            (_, first_counts, first_hits),
            (second, second_counts, second_hits),
            (third, third_counts, third_hits),
        ],
    ) = three_runs
    assert first_counts == second_counts == third_counts
    for rerun in (second, third):
        assert rerun.counts["articles_new"] == rerun.counts["articles_changed"] == 0
        assert rerun.counts["sentences_scored"] == 0
        assert rerun.counts["sources_not_modified"] == 1  # /rss answered 304
        assert rerun.counts["links_skipped"] == 3  # flaky, ru (stored) and gone (rejected)
    new_hits = second_hits - first_hits
    assert new_hits["/rss"] == 1 and "/pages/zelensky" not in new_hits and "/pages/missing" not in new_hits
    assert "/pages/flaky" not in new_hits and "/pages/ru" not in new_hits and "/pages/gone" not in new_hits
    # Feed B linked a page that failed, so its ETag was not kept: it is read again, and only the
    # failed page is fetched again.
    assert new_hits["/feed-b"] == 1 and new_hits["/pages/broken"] == 4


def test_conditional_requests_carry_the_stored_validators(three_runs, server):
    rss = [r.headers.get("if-none-match") for r in server.requests if r.path == "/rss"]
    feed_b = [r.headers.get("if-none-match") for r in server.requests if r.path == "/feed-b"]
    assert rss[:3] == [None, '"rss-1"', '"rss-1"']
    assert feed_b[:3] == [None, None, None]


def test_the_summary_line_states_what_the_rerun_skipped(three_runs):
    _, [_, (second, *_), _] = three_runs
    # Not seen again: the two articles of the unchanged /rss feed and the two known pages of feed B.
    assert re.search(r"\(0 new, 0 changed, 0 re-scored, 11 unchanged, 0 not in English\)", second.line())
    assert ", 1 sources not modified, 3 known links skipped in " in second.line()


# ---------------------------------------------------------------- the command


runner = CliRunner()


def test_ingest_needs_a_source_or_a_config():
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 2
    assert "give at least one SOURCE, or --config FILE" in result.output


def test_ingest_rejects_a_bad_mapping_as_usage_error(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path), "--map", "body"])
    assert result.exit_code == 2
    assert "expected FIELD=COLUMN like text=body" in result.output


def test_ingest_with_a_broken_config_is_one_line_error(tmp_path):
    config = tmp_path / "tonewatch.toml"
    config.write_text("[sources.x]\nurl = 'https://x.example/rss'\nkind = 'rss'\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", "--config", str(config), "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 1
    assert result.output.startswith(f'error: {config}, source "x": kind must be one of')
    assert len(result.output.strip().splitlines()) == 1


def test_ingest_command_is_quiet_and_exits_zero_despite_rejects(server, inputs, tmp_path):
    _, config, sources = inputs
    result = subprocess.run(
        [
            sys.executable, "-m", "tonewatch.flows", "ingest", *sources, "--config", str(config),
            "--db", str(tmp_path / "cli.duckdb"), "--report", str(tmp_path / "report.html"),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert re.match(r"15 articles \(15 new, 0 changed, 0 re-scored, 0 unchanged, 2 not in English\)", line), (
        line
    )
    assert ", 10 rejected (" in line and "1 unsafe XML" in line
    assert line.endswith(f"report: {tmp_path / 'report.html'}")
