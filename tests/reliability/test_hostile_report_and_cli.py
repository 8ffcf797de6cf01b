"""Hostile content end to end: markup and script in every field of an ingested article, checked in
a real headless Chromium against the report the pipeline wrote; hostile servers behind a real
``tonewatch ingest``; SQL metacharacters in every value a user gives the command line.

Chromium is the system one (/usr/bin/chromium) driven by Playwright, as in
tests/test_report_browser.py: these tests skip without it, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from ingest_server import LoopbackServer, Reply, endless, redirect, static
from reliability_support import Slowloris, has_traceback, run_args, run_tonewatch, store_problems, store_rows
from test_report_browser import CHROMIUM_ARGS, find_chromium, unavailable
from typer.testing import CliRunner

from tonewatch.flows.cli import app

# Each payload sets window.__xss if it ever runs, and says where it came from.
PAYLOADS = {
    "title": "<script>window.__xss='title'</script>Peskov: <b>talks</b> & \"more\"",
    "sentence": "<img src=x onerror=\"window.__xss='sentence'\">",
    "outlet": "<svg onload=\"window.__xss='outlet'\"></svg>Wire</td><script>window.__xss='cell'</script>",
    "author": "<iframe src=\"javascript:window.__xss='author'\"></iframe>",
    "home": "moscow\"><script>window.__xss='home'</script>",
}
HOSTILE_URLS = [
    "javascript:window.__xss='url'",
    "JaVaScRiPt:window.__xss='url-case'",
    "java\tscript:window.__xss='url-tab'",
    " javascript:window.__xss='url-space'",
    "data:text/html,<script>window.__xss='data'</script>",
    "vbscript:msgbox(1)",
    "https://example.org/\"><script>window.__xss='attr'</script>",
    "https://example.org/' onmouseover='window.__xss=\"attr2\"",
]
SENTENCES = [
    "Peskov criticised Trump over the sanctions {payload}, calling the move reckless and dangerous.",
    '"It was a useful and constructive meeting {payload}," Zelensky said of Macron.',
    "Rubio praised Lavrov for the prisoner exchange {payload}, and welcomed the progress.",
]
ON_ATTRIBUTES = """() => Array.from(document.querySelectorAll('*')).flatMap(e =>
  Array.from(e.attributes).filter(a => a.name.toLowerCase().startsWith('on'))
    .map(a => e.tagName + ' ' + a.name))"""
LINKS = """() => Array.from(document.querySelectorAll('a[href], area[href], iframe, embed, object, img[src]'))
  .map(e => e.getAttribute('href') || e.getAttribute('src') || e.tagName)"""


def hostile_records() -> list[dict]:
    records = []
    for number, url in enumerate(HOSTILE_URLS):
        payload = list(PAYLOADS.values())[number % len(PAYLOADS)]
        records.append(
            {
                "url": url,
                "title": PAYLOADS["title"] + f" #{number}",
                "text": " ".join(s.format(payload=payload) for s in SENTENCES) + f" Story {number}.",
                "outlet": PAYLOADS["outlet"],
                "outlet_home": PAYLOADS["home"] if number % 2 else "kyiv",
                "author": PAYLOADS["author"],
                "published_at": f"2025-02-{10 + number:02d}T09:00:00Z",
                "language": "en",
            }
        )
    return records


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    executable = find_chromium()
    if executable is None:
        unavailable("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def hostile_report(prefect_server, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hostile-report")
    source = folder / "hostile.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in hostile_records()), encoding="utf-8")
    db, report = folder / "store.duckdb", folder / "report.html"
    done = run_tonewatch(*run_args(source, db, report), env=prefect_server.env(), cwd=folder)
    assert done.returncode == 0 and done.stderr == "", done
    return db, report


def test_markup_in_every_field_stays_text_in_the_report(browser, hostile_report, figures):
    db, report = hostile_report
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("select count(*), count(distinct outlet) from articles").fetchone()
        edges = con.execute("select count(*) from edges").fetchone()[0]
    assert stored == (len(HOSTILE_URLS), 1) and edges > 0
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    try:
        page = context.new_page()
        dialogs, errors, requests = [], [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))

        def on_route(route) -> None:
            requests.append(route.request.url)
            route.continue_() if route.request.url.startswith("file://") else route.abort()

        page.route("**/*", on_route)
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_selector("#evidence-table tbody tr")
        # Hover and click everything a reader might: the rows, the links, the search.
        page.fill("#evidence-search", "Peskov")
        page.fill("#evidence-search", "")
        for row in page.locator("#evidence-table tbody tr").all()[:20]:
            row.hover()
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert dialogs == [] and errors == []
        assert [url for url in requests if not url.startswith("file://")] == []
        assert page.evaluate(ON_ATTRIBUTES) == []
        for link in page.evaluate(LINKS):
            assert link.startswith(("https://", "http://", "#")), f"a link that is not http(s): {link!r}"
        text = page.locator("#evidence-table").inner_text()
        assert PAYLOADS["sentence"] in text and "Peskov: <b>talks</b>" in text
        assert "<svg onload=" in text
    finally:
        context.close()
    html = report.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<iframe" not in html
    figures["hostile cases"] += len(HOSTILE_URLS) + len(PAYLOADS)


# --- hostile servers behind a real `tonewatch ingest` ------------------------------------------


def test_ingest_from_hostile_servers_records_each_as_a_reject_and_goes_on(prefect_server, tmp_path, figures):
    from test_hostile_fetch import ARTICLE, XML_ATTACKS, feed

    slow = Slowloris("headers", pause_seconds=0.5)
    server = LoopbackServer({})
    base, port = server.base, server.base.rsplit(":", 1)[1]
    links = [f"http://localhost:{port}/page", "http://169.254.169.254/latest/meta-data/", f"{base}/page"]
    entries = "".join(
        f"<item><title>entry {n}</title><link>{link}</link><description>Summary.</description></item>"
        for n, link in enumerate(links)
    )
    server.routes.update(
        {
            "/page": static(ARTICLE),
            "/feed": static(feed(entries), "application/rss+xml"),
            "/xxe": static(XML_ATTACKS["external-entity-file"], "application/rss+xml"),
            "/to-file": redirect("file:///etc/passwd"),
            "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
            "/huge": lambda r: Reply(200, {"Content-Type": "text/html"}, endless()),
        }
    )
    config = tmp_path / "tonewatch.toml"
    config.write_text(
        "[fetch]\ntimeout_seconds = 2.0\nconnect_timeout_seconds = 1.0\nmax_bytes = 262144\n"
        'retry_delays_seconds = []\ntreat_as_public = ["127.0.0.1"]\n',
        encoding="utf-8",
    )
    sources = [f"{base}/{path}" for path in ("feed", "xxe", "to-file", "to-metadata", "huge")] + [slow.url]
    db = tmp_path / "store.duckdb"
    try:
        started = time.monotonic()
        done = run_tonewatch(
            "ingest", *sources, "--config", config, "--db", db, "--report", tmp_path / "report.html",
            env=prefect_server.env(), cwd=tmp_path,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        slow.close()
        server.close()
    assert done.returncode == 0 and done.stderr == "", done
    assert elapsed < 60, f"{elapsed:.0f} s"
    with duckdb.connect(str(db), read_only=True) as con:
        rejects = sorted(con.execute("select reason, source from rejects").fetchall())
        urls = [row[0] for row in con.execute("select url from articles").fetchall()]
    assert [reason for reason, _ in rejects] == [
        "private address", "private address", "private address", "redirect to a non-HTTP address",
        "timeout", "too large", "unsafe XML",
    ], rejects  # fmt: skip
    assert urls == [f"{base}/page"]
    assert server.hits["/page"] == 1  # the private spelling of the same page was never fetched
    figures["hostile cases"] += len(rejects)


# --- SQL metacharacters in every value of the command line -----------------------------------

SQL_VALUES = [
    "'",
    '"',
    "'; drop table articles; --",
    "x'); delete from edges where ('1'='1",
    '" or 1=1 --',
    "$1",
    "?",
    "%s %d",
    "\\'; select 1; --",
    "moscow,washington'); drop table blocs; --",
    "2025-01-01'; drop table articles; --",
    "🙂' union select * from runs --",
]


@pytest.fixture(scope="module")
def quoted_store(prefect_server, corpus, tmp_path_factory) -> Path:
    """A store and a source folder whose paths hold quotes and SQL, written by a real run."""
    folder = tmp_path_factory.mktemp("quoted") / 'it\'s "quoted"; drop table articles; --'
    folder.mkdir()
    source = folder / "src ' \" ; --"
    source.mkdir()
    shutil.copy(corpus / "part-0.jsonl", source / "it's; drop.jsonl")
    db = folder / "store '\"; drop table runs.duckdb"
    done = run_tonewatch(
        *run_args(source, db, folder / "report '.html"), env=prefect_server.env(), cwd=folder
    )
    assert done.returncode == 0 and done.stderr == "", done
    with duckdb.connect(str(db), read_only=True) as con:
        sources = {row[0] for row in con.execute("select distinct source from articles").fetchall()}
    file = source / "it's; drop.jsonl"
    assert sources and all(s.startswith(f"{file}:") for s in sources)
    return db


def invoke(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("value", SQL_VALUES)
def test_query_parameters_are_bound_not_formatted(value, quoted_store):
    before = store_rows(quoted_store)
    code, out, err = invoke("query", "select ? as v, (select count(*) from articles where title = ?) as n",
                            "-p", value, "-p", value, "--db", quoted_store, "--format", "json")  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"v": value, "n": 0}]
    after = store_rows(quoted_store)
    assert all(before[t].equals(after[t]) for t in before)


@pytest.mark.parametrize("value", SQL_VALUES)
@pytest.mark.parametrize("option", ["--since", "--until", "--blocs", "--actors", "--granularity"])
def test_report_options_with_sql_are_refused_as_bad_usage(option, value, quoted_store, tmp_path, figures):
    before = store_rows(quoted_store)
    out = tmp_path / "report.html"
    code, stdout, stderr = invoke("report", "--db", quoted_store, "--out", out, option, value)
    assert code == 2, (stdout, stderr)
    assert "Invalid value" in stderr and not has_traceback(stderr)
    for word in ("Parser Error", "Catalog Error", "Binder Error", "duckdb"):
        assert word not in stderr
    assert not out.exists()
    after = store_rows(quoted_store)
    assert all(before[t].equals(after[t]) for t in before)
    figures["SQL metacharacter cases"] += 1


def test_paths_with_quotes_work_for_report_query_and_export(quoted_store, tmp_path):
    before = store_rows(quoted_store)
    out = tmp_path / 'it\'s "a"; report.html'
    assert invoke("report", "--db", quoted_store, "--out", out)[0] == 0
    assert out.read_text(encoding="utf-8").rstrip().endswith("</html>")
    code, stdout, _ = invoke(
        "query", "select count(*) as n from articles", "--db", quoted_store, "--format", "csv"
    )
    assert (code, stdout.splitlines()[1]) == (0, str(before["articles"].height))
    export = tmp_path / "exp ' \" ; drop table articles; --"
    code, stdout, stderr = invoke("export", "--db", quoted_store, "--parquet", export)
    assert code == 0, stderr
    with duckdb.connect() as con:
        # Read back the way an analyst would: the path is a bound parameter here too.
        rows = con.execute(
            "select count(*) from read_parquet(?)", [str(export / "articles" / "**" / "*.parquet")]
        )
        assert rows.fetchone()[0] == before["articles"].height
    after = store_rows(quoted_store)
    assert all(before[t].equals(after[t]) for t in before)
    assert store_problems(quoted_store) == {}
