"""Hostile servers and feeds: entity bombs and external entities, redirects out of the public web,
oversized and trickling responses. Everything runs against servers on 127.0.0.1 that this file
starts; a connection to any other address fails the test (``loopback_only``).

The loopback server plays a *public* site: ``treat_as_public`` lists 127.0.0.1, so a redirect or
a link from it to any other private address (localhost, 10.0.0.5, 169.254.169.254, …) must be
refused before a connection is made.
"""

from __future__ import annotations

import gzip
import time

import pytest
from ingest_server import LoopbackServer, Reply, endless, loopback_only, redirect, static
from reliability_support import Slowloris, hard_deadline

from tonewatch.flows.fetch import FetchFailed, FetchSettings, fetch, new_client
from tonewatch.flows.ingest_config import SourceSpec
from tonewatch.flows.sources import fetch_pages, read_url
from tonewatch.flows.sources.feeds import PendingPage
from tonewatch.flows.sources.files import read_file
from tonewatch.transforms.records import RawArticle, Reject

PUBLIC = FetchSettings(
    timeout_seconds=2.0, connect_timeout_seconds=1.0, max_bytes=256 * 1024, treat_as_public=("127.0.0.1",)
)
PASSWD_MARKER = "root:x:0:0"
ARTICLE = (
    "<html lang='en'><body><article><h1>Peskov: talks useful</h1>"
    + "".join(
        f"<p>Kremlin spokesman Dmitry Peskov said on day {n} that the talks were useful.</p>"
        for n in range(6)
    )
    + "</article></body></html>"
).encode()


def feed(body: str, *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>Hostile</title>'
        f"{body}</channel></rss>"
    ).encode()


LAUGH = "&lol{};"
ITEM = "<item><title>{title}</title><link>{link}</link><description>{text}</description></item>"
XML_ATTACKS = {
    "billion-laughs": feed(
        ITEM.format(title="&lol9;", link="https://x.example/1", text="&lol9;"),
        prolog="<!DOCTYPE rss [<!ENTITY lol 'lol'>"
        + "".join(f"<!ENTITY lol{n} '{LAUGH.format(n - 1 or '') * 10}'>" for n in range(1, 10))
        + "]>",
    ),
    "external-entity-file": feed(
        ITEM.format(title="&secret;", link="https://x.example/2", text="&secret;"),
        prolog='<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    ),
    "parameter-entity-dtd": feed(
        ITEM.format(title="t", link="https://x.example/3", text="&all;"),
        prolog='<!DOCTYPE rss [<!ENTITY % ext SYSTEM "$BASE/evil.dtd"> %ext;]>',
    ),
    "entity-after-comment": feed(
        ITEM.format(title="&secret;", link="https://x.example/4", text="x"),
        prolog='<!-- a comment --><?pi x?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    ),
    "utf16-billion-laughs": feed(
        ITEM.format(title="&lol2;", link="https://x.example/5", text="x"),
        prolog="<!DOCTYPE rss [<!ENTITY lol 'lol'><!ENTITY lol1 '&lol;&lol;'><!ENTITY lol2 '&lol1;&lol1;'>]>",
    )
    .decode()
    .replace('encoding="utf-8"', 'encoding="utf-16"')
    .encode("utf-16"),
    "entity-declaration-without-doctype": b'<?xml version="1.0"?><!ENTITY x SYSTEM "file:///etc/passwd"><rss/>',
}
XML_SAFE = {
    # A bare external DTD (old RSS 0.91) is cut out, never fetched.
    "bare-external-dtd": feed(
        ITEM.format(
            title="Peskov speaks", link="https://x.example/6", text="Peskov said the talks were useful."
        ),
        prolog='<!DOCTYPE rss SYSTEM "$BASE/evil.dtd">',
    ),
    # XInclude is not processed: the text stays as it was written.
    "xinclude": feed(
        '<item xmlns:xi="http://www.w3.org/2001/XInclude"><title>x</title><link>https://x.example/7</link>'
        '<description>Peskov said so. <xi:include href="file:///etc/passwd" parse="text"/>'
        "</description></item>"
    ),
}


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer({})
    base = srv.base
    port = base.rsplit(":", 1)[1]
    srv.routes.update(
        {
            "/page": static(ARTICLE),
            "/evil.dtd": static(b'<!ENTITY all SYSTEM "file:///etc/passwd">', "application/xml-dtd"),
            **{
                f"/xml/{name}": static(data.replace(b"$BASE", base.encode()), "application/rss+xml")
                for name, data in {**XML_ATTACKS, **XML_SAFE}.items()
            },  # fmt: skip
            "/to-file": redirect("file:///etc/passwd"),
            "/to-ftp": redirect("ftp://127.0.0.1/etc/passwd"),
            "/to-gopher": redirect(f"gopher://127.0.0.1:{port}/_GET%20/page"),
            "/to-javascript": redirect("javascript:alert(document.domain)"),
            "/to-data": redirect("data:text/html,<script>alert(1)</script>"),
            "/to-localhost": redirect(f"http://localhost:{port}/page"),
            "/to-loopback-2": redirect(f"http://127.0.0.2:{port}/page"),
            "/to-ipv6-loopback": redirect(f"http://[::1]:{port}/page"),
            "/to-decimal-loopback": redirect(f"http://2130706433:{port}/page"),
            "/to-short-loopback": redirect(f"http://127.1:{port}/page"),
            "/to-zero": redirect(f"http://0.0.0.0:{port}/page"),
            "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
            "/to-lan": redirect("http://10.0.0.5/admin"),
            "/to-lan-https": redirect("https://192.168.1.1/", 307),
            "/to-mapped-v6": redirect(f"http://[::ffff:127.0.0.1]:{port}/page"),
            "/to-broken": redirect("http://[broken/page"),
            "/to-bad-port": redirect("http://127.0.0.1:99999/page"),
            "/hop": redirect("/to-metadata", 301),
            "/declared-huge": lambda r: Reply(
                200, {"Content-Type": "text/html", "Content-Length": str(10**12)}, b""
            ),
            "/streamed-huge": lambda r: Reply(200, {"Content-Type": "text/html"}, endless()),
            "/gzip-bomb": static(
                gzip.compress(b"<p>" + b"a" * (64 * 1024 * 1024)), "text/html", **{"Content-Encoding": "gzip"}
            ),  # fmt: skip
            "/public-feed": static(
                feed(
                    "".join(
                        ITEM.format(title=f"entry {n}", link=link, text="Summary only.")
                        for n, link in enumerate(
                            [
                                f"http://localhost:{port}/page",
                                "http://169.254.169.254/latest/",
                                "http://10.0.0.5/",
                                f"{base}/to-localhost",
                                f"{base}/page",
                            ]
                        )
                    )
                ),
                "application/rss+xml",
            ),  # fmt: skip
        }
    )
    yield srv
    srv.close()


@pytest.fixture
def client():
    with new_client(PUBLIC) as http:
        yield http


def texts_of(items) -> str:
    return "\n".join(f"{i.title}\n{i.text}" for i in items if isinstance(i, RawArticle))


@pytest.mark.parametrize("name", sorted(XML_ATTACKS))
def test_entity_attacks_in_feeds_are_rejected_unread(name, server, client, tmp_path, figures):
    before = server.hits["/evil.dtd"]
    with hard_deadline(10, name):
        fetched = read_url(SourceSpec(server.url(f"/xml/{name}")), client=client, settings=PUBLIC)
        path = tmp_path / f"{name}.xml"
        path.write_bytes(XML_ATTACKS[name].replace(b"$BASE", server.base.encode()))
        saved = list(read_file(path))
    for items in (fetched.rejects + fetched.articles, saved):
        assert [(type(i).__name__, i.reason) for i in items] == [("Reject", "unsafe XML")], items
    assert server.hits["/evil.dtd"] == before
    figures["hostile cases"] += 1


@pytest.mark.parametrize("name", sorted(XML_SAFE))
def test_external_dtds_and_xinclude_are_never_followed(name, server, client):
    before = server.hits["/evil.dtd"]
    fetched = read_url(
        SourceSpec(server.url(f"/xml/{name}")), client=client, settings=PUBLIC, fetch_pages=False
    )
    assert fetched.rejects == [] and len(fetched.articles) == 1
    assert PASSWD_MARKER not in texts_of(fetched.articles)
    assert "Peskov said" in fetched.articles[0].text
    assert server.hits["/evil.dtd"] == before


def test_an_html_page_with_an_external_entity_does_not_read_the_file(tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(
        b'<!DOCTYPE html [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        + ARTICLE.replace(b"day 1", b"&secret;")
    )
    items = list(read_file(page))
    assert len(items) == 1 and PASSWD_MARKER not in texts_of(items)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-file", "redirect to a non-HTTP address"),
        ("/to-ftp", "redirect to a non-HTTP address"),
        ("/to-gopher", "redirect to a non-HTTP address"),
        ("/to-javascript", "redirect to a non-HTTP address"),
        ("/to-data", "redirect to a non-HTTP address"),
        ("/to-localhost", "private address"),
        ("/to-loopback-2", "private address"),
        ("/to-ipv6-loopback", "private address"),
        ("/to-decimal-loopback", "private address"),
        ("/to-short-loopback", "private address"),
        ("/to-zero", "private address"),
        ("/to-metadata", "private address"),
        ("/to-lan", "private address"),
        ("/to-lan-https", "private address"),
        ("/to-mapped-v6", "private address"),
        ("/hop", "private address"),
        ("/to-broken", "invalid redirect"),
        ("/to-bad-port", "invalid redirect"),
    ],
)
def test_redirects_out_of_the_public_web_are_refused_before_connecting(path, reason, server, client, figures):
    pages_before = server.hits["/page"]
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url(path), settings=PUBLIC)
    assert caught.value.reason == reason and not caught.value.is_transient
    assert server.hits["/page"] == pages_before  # nothing was fetched at the private address
    figures["hostile cases"] += 1


def test_a_redirect_between_loopback_addresses_is_followed_when_the_source_is_private(server):
    settings = FetchSettings(timeout_seconds=2.0, connect_timeout_seconds=1.0)  # 127.0.0.1 is private
    with new_client(settings) as http:
        assert fetch(http, server.url("/hop").replace("/hop", "/page"), settings=settings).status == 200
        with pytest.raises(FetchFailed, match="private address"):
            fetch(http, server.url("/page"), settings=settings, origin="http://8.8.8.8/feed.xml")


def test_a_public_feed_cannot_make_tonewatch_fetch_private_pages(server, client, figures):
    spec = SourceSpec(server.url("/public-feed"))
    read = read_url(spec, client=client, settings=PUBLIC)
    assert read.rejects == [] and len(read.pages) == 5
    before = server.hits["/page"]
    done = fetch_pages(read.pages, client=client, settings=PUBLIC)
    reasons = sorted(r.reason for r in done.rejects)
    assert reasons == ["private address"] * 4, done.rejects
    assert [a.url for a in done.articles] == [server.url("/page")]
    assert server.hits["/page"] == before + 1  # only the public link
    figures["hostile cases"] += 4


@pytest.mark.parametrize("path", ["/declared-huge", "/streamed-huge", "/gzip-bomb"])
def test_responses_over_the_cap_stop_at_the_cap(path, server, client, figures):
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url(path), settings=PUBLIC)
    assert caught.value.reason == "too large"
    assert time.monotonic() - started < 5
    figures["hostile cases"] += 1


@pytest.mark.parametrize("stage", ["headers", "body"])
def test_a_trickling_response_is_given_up_at_the_deadline(stage, figures):
    slow = Slowloris(stage, pause_seconds=0.5)
    try:
        settings = FetchSettings(timeout_seconds=3.0, connect_timeout_seconds=1.0)
        started = time.monotonic()
        with (
            new_client(settings) as http,
            hard_deadline(30, f"trickled {stage}"),
            pytest.raises(FetchFailed) as caught,
        ):
            fetch(http, slow.url, settings=settings)
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    assert (caught.value.reason, caught.value.is_transient) == ("timeout", True)
    assert 2.5 < elapsed < 6, f"gave up after {elapsed:.1f} s, the deadline is 3 s"
    assert slow.bytes_sent >= 3  # it did trickle: every read came within the read timeout
    figures["hostile cases"] += 1


def test_unusable_pages_become_rejects_not_crashes(server, client):
    pending = [
        PendingPage(server.url(path), server.url("/public-feed"), "t", "s", None, None, None, None)
        for path in ("/to-file", "/to-broken", "/declared-huge", "/page")
    ]
    done = fetch_pages(pending, client=client, settings=PUBLIC)
    reasons = sorted(r.reason for r in done.rejects)
    assert reasons == ["invalid redirect", "redirect to a non-HTTP address", "too large"]
    assert len(done.articles) == 1 and all(isinstance(r, Reject) for r in done.rejects)
