"""HTTP fetching against a real server on 127.0.0.1: limits, redirects, statuses, politeness."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
from ingest_server import (
    LoopbackServer,
    Reply,
    closed_port,
    endless,
    loopback_only,
    redirect,
    static,
    status,
    trickle,
)

from tonewatch.flows.fetch import USER_AGENT, FetchFailed, FetchSettings, Validators, fetch, new_client

SETTINGS = FetchSettings(timeout_seconds=1.0, connect_timeout_seconds=1.0, max_bytes=1024 * 1024)
PAGE = b"<html><body><p>Hello from loopback.</p></body></html>"


def _slow(request):
    return Reply(200, {"Content-Type": "text/html"}, PAGE, delay_seconds=3.0)


def _etag(request):
    if request.headers.get("if-none-match") == '"abc"':
        return Reply(304, {"ETag": '"abc"'})
    return Reply(200, {"Content-Type": "text/html", "ETag": '"abc"'}, PAGE)


def _last_modified(request):
    stamp = "Sun, 23 Feb 2025 10:00:00 GMT"
    if request.headers.get("if-modified-since") == stamp:
        return Reply(304)
    return Reply(200, {"Content-Type": "text/html", "Last-Modified": stamp}, PAGE)


def _held(request):
    time.sleep(0.3)
    return Reply(200, {"Content-Type": "text/html"}, PAGE)


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer(
        {
            "/page": static(PAGE, "text/html; charset=windows-1251"),
            "/gzip": static(gzip.compress(PAGE), "text/html", **{"Content-Encoding": "gzip"}),
            "/hop1": redirect("/hop2", 301),
            "/hop2": redirect("/page", 307),
            "/loop-a": redirect("/loop-b"),
            "/loop-b": redirect("/loop-a"),
            **{f"/chain{i}": redirect(f"/chain{i + 1}") for i in range(10)},
            "/to-ftp": redirect("ftp://files.example.com/story.txt"),
            "/no-location": lambda r: Reply(302),
            "/missing": status(404),
            "/gone": status(410),
            "/broken": status(500),
            "/busy": status(503),
            "/too-many": status(429),
            "/slow": _slow,
            "/trickle": lambda r: Reply(200, {"Content-Type": "text/html"}, trickle(0.2, 100)),
            "/huge-streamed": lambda r: Reply(200, {"Content-Type": "text/html"}, endless()),
            "/huge-declared": lambda r: Reply(
                200, {"Content-Type": "text/html", "Content-Length": str(50 * 1024 * 1024)}, endless()
            ),
            "/gzip-bomb": static(
                gzip.compress(b"a" * (5 * 1024 * 1024)), "text/html", **{"Content-Encoding": "gzip"}
            ),
            "/etag": _etag,
            "/last-modified": _last_modified,
            "/held": _held,
        }
    )
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    loopback_only(monkeypatch)


@pytest.fixture
def client():
    with new_client(SETTINGS) as http:
        yield http


def test_fetch_sends_user_agent_and_reads_charset(server, client):
    response = fetch(client, server.url("/page"), settings=SETTINGS)
    assert (response.status, response.content, response.charset) == (200, PAGE, "windows-1251")
    assert response.media_type == "text/html"
    sent = [r for r in server.requests if r.path == "/page"][-1]
    assert sent.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("tonewatch/") and USER_AGENT.endswith("(+https://github.com/tonewatch)")


def test_gzip_body_is_decoded(server, client):
    assert fetch(client, server.url("/gzip"), settings=SETTINGS).content == PAGE


def test_redirects_are_followed_hop_by_hop(server, client):
    response = fetch(client, server.url("/hop1"), settings=SETTINGS)
    assert response.final_url == server.url("/page")
    assert response.redirects == (server.url("/hop2"), server.url("/page"))
    assert response.url == server.url("/hop1")


@pytest.mark.parametrize(
    ("path", "reason", "is_transient"),
    [
        ("/loop-a", "redirect loop", False),
        ("/chain0", "too many redirects", False),
        ("/to-ftp", "redirect to a non-HTTP address", False),
        ("/no-location", "redirect without a Location", False),
        ("/missing", "HTTP 404", False),
        ("/gone", "HTTP 410", False),
        ("/broken", "HTTP 500", True),
        ("/busy", "HTTP 503", True),
        ("/too-many", "HTTP 429", True),
        ("/huge-declared", "too large", False),
        ("/huge-streamed", "too large", False),
        ("/gzip-bomb", "too large", False),
    ],
)
def test_unusable_responses_fail_with_a_reason(server, client, path, reason, is_transient):
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url(path), settings=SETTINGS)
    assert (caught.value.reason, caught.value.is_transient) == (reason, is_transient)
    assert caught.value.url == server.url(path)


def test_fifty_megabytes_are_cut_off_at_the_cap_quickly(server, client):
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="too large"):
        fetch(client, server.url("/huge-streamed"), settings=SETTINGS)
    assert time.monotonic() - started < 5


def test_declared_size_over_the_cap_is_refused_before_reading(server, client):
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url("/huge-declared"), settings=SETTINGS)
    assert caught.value.detail == f"{50 * 1024 * 1024} bytes declared; the limit is {SETTINGS.max_bytes}"


def test_slow_server_times_out_as_transient(server, client):
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url("/slow"), settings=SETTINGS)
    assert (caught.value.reason, caught.value.is_transient) == ("timeout", True)
    assert time.monotonic() - started < 2.5


def test_trickling_body_hits_the_total_deadline(server, client):
    # Each byte arrives well within the read timeout; only the deadline per response stops it.
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch(client, server.url("/trickle"), settings=SETTINGS)
    assert (caught.value.reason, caught.value.is_transient) == ("timeout", True)
    assert time.monotonic() - started < 2.5


def test_refused_connection_is_transient(client):
    with pytest.raises(FetchFailed) as caught:
        fetch(client, f"http://127.0.0.1:{closed_port()}/feed", settings=SETTINGS)
    assert (caught.value.reason, caught.value.is_transient) == ("connection failed", True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example.com/feed.xml", "unsupported URL scheme"),
        ("file:///etc/passwd", "unsupported URL scheme"),
        ("javascript:alert(1)", "unsupported URL scheme"),
        ("http:///no-host", "invalid URL"),
    ],
)
def test_only_http_and_https_are_fetched(client, url, reason):
    with pytest.raises(FetchFailed) as caught:
        fetch(client, url, settings=SETTINGS)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("path", "validators", "header"),
    [
        ("/etag", Validators(etag='"abc"'), "if-none-match"),
        ("/last-modified", Validators(last_modified="Sun, 23 Feb 2025 10:00:00 GMT"), "if-modified-since"),
    ],
)
def test_conditional_request_gets_304(server, client, path, validators, header):
    first = fetch(client, server.url(path), settings=SETTINGS)
    assert first.validators == validators and not first.is_not_modified
    second = fetch(client, server.url(path), settings=SETTINGS, validators=first.validators)
    assert second.is_not_modified and second.content == b""
    assert header in server.requests[-1].headers


def test_requests_per_host_are_limited(server):
    settings = FetchSettings(timeout_seconds=5.0, requests_per_host=2, concurrency=6)
    with new_client(settings) as http:
        threads = [
            threading.Thread(target=fetch, args=(http, server.url("/held")), kwargs={"settings": settings})
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.max_in_flight["/held"] == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout_seconds": 0}, r"timeout_seconds must be a positive number, got 0"),
        ({"max_bytes": -1}, r"max_bytes must be a positive number, got -1"),
        ({"max_redirects": 1.5}, r"max_redirects must be a whole number, got 1.5"),
        ({"requests_per_host": True}, r"requests_per_host must be a positive number, got True"),
        ({"retry_delays_seconds": (2, -1)}, r"retry_delays_seconds must be numbers of seconds >= 0"),
    ],
)
def test_fetch_settings_are_checked_when_built(options, message):
    with pytest.raises(ValueError, match=message):
        FetchSettings(**options)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # a source the user names is trusted
        ("http://127.0.0.1:9/feed.xml", True),  # a feed on a private network may link inside it
        ("http://8.8.8.8/feed.xml", False),  # a public feed may not (only the literal is looked at)
        ("/home/me/saved/feed.xml", False),  # nor may a saved feed file
    ],
)
def test_links_to_private_addresses_are_followed_only_from_private_origins(server, client, origin, allowed):
    before = server.hits["/page"]
    if allowed:
        assert fetch(client, server.url("/page"), settings=SETTINGS, origin=origin).status == 200
    else:
        with pytest.raises(FetchFailed, match="private address") as caught:
            fetch(client, server.url("/page"), settings=SETTINGS, origin=origin)
        assert caught.value.detail == f"127.0.0.1 is not on the public internet; linked from {origin}"
        assert server.hits["/page"] == before  # refused before connecting
