"""Fetch a URL over HTTP(S) the careful way: timeouts, a size cap, checked redirects, politeness.

The only module that talks to the network. A failure is a ``FetchFailed`` carrying the reason
a reject records and whether trying again may help (5xx, 429, timeouts, dropped connections);
anything else raised from here is a bug.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit

import httpx

from .settings import (
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_FETCH_CONCURRENCY,
    DEFAULT_HTTP_TIMEOUT_SECONDS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_REQUESTS_PER_HOST,
    DEFAULT_RETRY_DELAYS_SECONDS,
)

try:
    _VERSION = version("tonewatch")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    _VERSION = "0"
USER_AGENT = f"tonewatch/{_VERSION} (+https://github.com/tonewatch)"
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Worth another try later: the server is overloaded or asks us to slow down.
_TRANSIENT_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


class FetchFailed(Exception):
    """A URL could not be fetched; ``reason`` is what the reject records."""

    def __init__(self, url: str, reason: str, detail: str = "", *, is_transient: bool = False) -> None:
        super().__init__(f"{url}: {reason}" + (f" ({detail})" if detail else ""))
        self.url = url
        self.reason = reason
        self.detail = detail
        self.is_transient = is_transient


@dataclass(frozen=True)
class FetchSettings:
    """Limits for every request; built once from the config's ``[fetch]`` table."""

    timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    requests_per_host: int = DEFAULT_REQUESTS_PER_HOST
    concurrency: int = DEFAULT_FETCH_CONCURRENCY
    retry_delays_seconds: tuple[float, ...] = DEFAULT_RETRY_DELAYS_SECONDS
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        positive = ("timeout_seconds", "connect_timeout_seconds", "max_bytes", "requests_per_host")
        for name in (*positive, "concurrency"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if isinstance(self.max_redirects, bool) or not isinstance(self.max_redirects, int):
            raise ValueError(f"max_redirects must be a whole number, got {self.max_redirects!r}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, got {self.max_redirects!r}")
        if any(
            isinstance(d, bool) or not isinstance(d, int | float) or d < 0 for d in self.retry_delays_seconds
        ):
            raise ValueError(
                f"retry_delays_seconds must be numbers of seconds >= 0, got {self.retry_delays_seconds!r}"
            )


@dataclass(frozen=True)
class Validators:
    """What a server sent to make the next request conditional (ETag, Last-Modified)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Response:
    """A fetched body (complete, within the size cap) and the headers tonewatch uses."""

    url: str
    final_url: str
    status: int
    content: bytes
    media_type: str
    charset: str | None
    validators: Validators
    redirects: tuple[str, ...] = ()

    @property
    def is_not_modified(self) -> bool:
        return self.status == 304


_host_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_host_slots_lock = threading.Lock()


@contextmanager
def _host_slot(url: str, per_host: int) -> Iterator[None]:
    """At most ``per_host`` requests to one host at a time, across every task of the process."""
    host = (urlsplit(url).hostname or "").lower()
    with _host_slots_lock:
        slot = _host_slots.setdefault((host, per_host), threading.BoundedSemaphore(per_host))
    with slot:
        yield


def new_client(settings: FetchSettings) -> httpx.Client:
    """An HTTP client with tonewatch's User-Agent and timeouts; redirects are followed by hand."""
    return httpx.Client(
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=settings.concurrency * 2),
    )


def check_url(url: str) -> None:
    """Raise ``FetchFailed`` unless ``url`` is an absolute http or https address."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchFailed(url, "unsupported URL scheme", f"{parts.scheme or 'none'}; only http and https")
    if not parts.hostname:
        raise FetchFailed(url, "invalid URL", "no host")


def _is_private(host: str) -> bool:
    """True when ``host`` is, or resolves to, an address that is not on the public internet."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False  # the request itself will fail and say so
    addresses = {info[4][0].split("%", 1)[0] for info in infos}
    return any(not ipaddress.ip_address(address).is_global for address in addresses)


def _check_destination(url: str, target: str, origin: str | None) -> None:
    """Refuse a private address (loopback, LAN, cloud metadata) unless the origin is private too.

    A source you name is trusted; a link in a public feed, or a redirect from a public site,
    to 169.254.169.254 or 10.0.0.5 is not followed, so feed content cannot make tonewatch
    read your internal network into the store.
    """
    host = urlsplit(target).hostname or ""
    if not _is_private(host):
        return
    origin_host = urlsplit(origin).hostname if origin and "://" in origin else None
    if origin_host and _is_private(origin_host):
        return
    raise FetchFailed(url, "private address", f"{host} is not on the public internet; linked from {origin}")


def fetch(
    client: httpx.Client,
    url: str,
    *,
    settings: FetchSettings,
    validators: Validators | None = None,
    accept: str = PAGE_ACCEPT,
    origin: str | None = None,
) -> Response:
    """GET ``url`` (conditionally when ``validators`` are given), following checked redirects.

    ``origin`` is where the URL was found (a feed); without one, ``url`` is a source the user
    named, and only its redirects are checked for private addresses.
    """
    check_url(url)
    origin = origin or url
    if origin != url:
        _check_destination(url, url, origin)
    headers = {"Accept": accept}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    current, seen, hops = url, {url}, []
    while True:
        with _host_slot(current, settings.requests_per_host):
            result = _get_once(client, current, headers, settings, original=url)
        if isinstance(result, Response):
            return Response(
                url=url,
                final_url=current,
                status=result.status,
                content=result.content,
                media_type=result.media_type,
                charset=result.charset,
                validators=result.validators,
                redirects=tuple(hops),
            )
        target = urljoin(current, result)
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise FetchFailed(url, "redirect to a non-HTTP address", target[:200])
        if target in seen:
            raise FetchFailed(url, "redirect loop", f"{current} -> {target}")
        if len(hops) >= settings.max_redirects:
            raise FetchFailed(url, "too many redirects", f"more than {settings.max_redirects}")
        _check_destination(url, target, origin)
        hops.append(target)
        seen.add(target)
        current = target


def _get_once(
    client: httpx.Client, url: str, headers: dict[str, str], settings: FetchSettings, *, original: str
) -> Response | str:
    """One request: a complete ``Response``, or the Location of a redirect."""
    deadline = time.monotonic() + settings.timeout_seconds
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchFailed(original, "redirect without a Location", f"HTTP {status} at {url}")
                return location
            if status in _TRANSIENT_STATUSES:
                raise FetchFailed(original, f"HTTP {status}", url, is_transient=True)
            if status != 304 and not 200 <= status < 300:
                raise FetchFailed(original, f"HTTP {status}", url)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > settings.max_bytes:
                raise FetchFailed(
                    original, "too large", f"{declared} bytes declared; the limit is {settings.max_bytes}"
                )
            body = bytearray()
            # No chunk size: each network read comes through, so the deadline is checked often.
            for chunk in response.iter_bytes():
                body += chunk
                # Counted after decompression, so a small gzip bomb is caught too.
                if len(body) > settings.max_bytes:
                    raise FetchFailed(original, "too large", f"over {settings.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FetchFailed(
                        original,
                        "timeout",
                        f"body not complete after {settings.timeout_seconds} s",
                        is_transient=True,
                    )
            content_type = response.headers.get("Content-Type", "")
            return Response(
                url=original,
                final_url=url,
                status=status,
                content=bytes(body),
                media_type=content_type.split(";", 1)[0].strip().lower(),
                charset=response.charset_encoding,
                validators=Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
            )
    except httpx.TimeoutException as exc:
        raise FetchFailed(original, "timeout", type(exc).__name__, is_transient=True) from exc
    except httpx.ConnectError as exc:
        raise FetchFailed(original, "connection failed", str(exc)[:200], is_transient=True) from exc
    except httpx.DecodingError as exc:
        raise FetchFailed(original, "undecodable response", str(exc)[:200]) from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise FetchFailed(original, "invalid URL", str(exc)[:200]) from exc
    except httpx.TransportError as exc:
        raise FetchFailed(original, "connection broken", type(exc).__name__, is_transient=True) from exc
