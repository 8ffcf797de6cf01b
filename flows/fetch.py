"""Fetch a URL over HTTP(S) the careful way: timeouts, a size cap, checked redirects, politeness.

The only module that talks to the network. A failure is a ``FetchFailed`` carrying the reason
a reject records and whether trying again may help (5xx, 429, timeouts, dropped connections);
anything else raised from here is a bug.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin

import httpx

from ..transforms.normalize import url_host, url_parts
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
    # Private hosts to treat as the public internet: readable from any feed and, like any public
    # site, not trusted to link into the private network. An entry is a host as URLs write it
    # (intranet.example, 10.1.2.3) or a network (10.1.2.0/24) holding the addresses it covers.
    treat_as_public: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.treat_as_public, str) or not all(
            isinstance(entry, str) and entry.strip() for entry in self.treat_as_public
        ):
            raise ValueError(
                "treat_as_public must be a list of hosts or networks like"
                f' ["intranet.example", "10.1.2.0/24"], got {self.treat_as_public!r}'
            )
        object.__setattr__(self, "treat_as_public", tuple(e.strip().lower() for e in self.treat_as_public))
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
    host = url_host(url) or ""
    with _host_slots_lock:
        slot = _host_slots.setdefault((host, per_host), threading.BoundedSemaphore(per_host))
    with slot:
        yield


class _UnusableRedirect(Exception):
    """A redirect whose Location tonewatch will not follow, found before httpx parses it."""

    def __init__(self, reason: str, target: str) -> None:
        super().__init__(reason)
        self.reason, self.target = reason, target


def _check_redirect(response: httpx.Response) -> None:
    """Refuse a Location that is not an http(s) URL, by name.

    httpx builds a redirect's next request even when it does not follow it, and fails on a
    Location such as ``javascript:…`` with an error that reads like the source URL was bad.
    """
    if response.status_code not in _REDIRECTS:
        return
    location = response.headers.get("Location", "")
    if not location:
        return  # _get_once says "redirect without a Location"
    try:
        target = urljoin(str(response.url), location)
    except ValueError:
        raise _UnusableRedirect("invalid redirect", location) from None
    parts = url_parts(target)
    if parts is None or (parts.scheme.lower() in ("http", "https") and not parts.hostname):
        raise _UnusableRedirect("invalid redirect", target)
    if parts.scheme.lower() not in ("http", "https"):
        raise _UnusableRedirect("redirect to a non-HTTP address", target)


class _Deadline:
    """Shuts a request's socket down when its time is up.

    httpx bounds each read, not a response: a server that sends its status line and headers
    one byte a second never trips a read timeout. Connections are not kept alive, so every
    request opens its own and the trace hook hands its socket over as it connects.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.has_expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self._socket = sock
            if self.has_expired:
                self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.has_expired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed: the request is over
                self._socket.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


def new_client(settings: FetchSettings) -> httpx.Client:
    """An HTTP client with tonewatch's User-Agent and timeouts; redirects are followed by hand."""
    return httpx.Client(
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        follow_redirects=False,
        # No keep-alive: each request's own connection is what _Deadline can shut down.
        limits=httpx.Limits(max_connections=settings.concurrency * 2, max_keepalive_connections=0),
        event_hooks={"response": [_check_redirect]},
    )


def check_url(url: str) -> None:
    """Raise ``FetchFailed`` unless ``url`` is an absolute http or https address."""
    parts = url_parts(url)
    if parts is None:
        raise FetchFailed(url, "invalid URL", "not a URL that can be read (brackets, port)")
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchFailed(url, "unsupported URL scheme", f"{parts.scheme or 'none'}; only http and https")
    if not parts.hostname:
        raise FetchFailed(url, "invalid URL", "no host")


def _public_networks(entries: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        if "/" not in entry:
            continue  # a host, matched as URLs write it
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


def _is_private(host: str, treat_as_public: tuple[str, ...] = ()) -> bool:
    """True when ``host`` is, or resolves to, an address that is not on the public internet
    (and not in ``treat_as_public``)."""
    if host.lower() in treat_as_public:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False  # the request itself will fail and say so
    public = _public_networks(treat_as_public)
    addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}
    return any(
        not address.is_global and not any(address in network for network in public) for address in addresses
    )


def _check_destination(
    url: str, target: str, origin: str | None, treat_as_public: tuple[str, ...] = ()
) -> None:
    """Refuse a private address (loopback, LAN, cloud metadata) unless the origin is private too.

    A source you name is trusted; a link in a public feed, or a redirect from a public site,
    to 169.254.169.254 or 10.0.0.5 is not followed, so feed content cannot make tonewatch
    read your internal network into the store.
    """
    host = url_host(target) or ""
    if not _is_private(host, treat_as_public):
        return
    origin_host = url_host(origin) if origin and "://" in origin else None
    if origin_host and _is_private(origin_host, treat_as_public):
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
        _check_destination(url, url, origin, settings.treat_as_public)
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
        try:
            target = urljoin(current, result)
        except ValueError:
            raise FetchFailed(url, "invalid redirect", result[:200]) from None
        target_parts = url_parts(target)
        if target_parts is None or not target_parts.hostname and target_parts.scheme in ("http", "https"):
            raise FetchFailed(url, "invalid redirect", target[:200])
        if target_parts.scheme.lower() not in ("http", "https"):
            raise FetchFailed(url, "redirect to a non-HTTP address", target[:200])
        if target in seen:
            raise FetchFailed(url, "redirect loop", f"{current} -> {target}")
        if len(hops) >= settings.max_redirects:
            raise FetchFailed(url, "too many redirects", f"more than {settings.max_redirects}")
        _check_destination(url, target, origin, settings.treat_as_public)
        hops.append(target)
        seen.add(target)
        current = target


def _get_once(
    client: httpx.Client, url: str, headers: dict[str, str], settings: FetchSettings, *, original: str
) -> Response | str:
    """One request: a complete ``Response``, or the Location of a redirect."""
    deadline = time.monotonic() + settings.timeout_seconds
    try:
        with _Deadline(settings.timeout_seconds) as watchdog:
            return _read_response(
                client, url, headers, settings, original=original, deadline=deadline, watchdog=watchdog
            )
    except _UnusableRedirect as exc:
        raise FetchFailed(original, exc.reason, exc.target[:200]) from None


def _read_response(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
    *,
    original: str,
    deadline: float,
    watchdog: _Deadline,
) -> Response | str:
    try:
        with client.stream("GET", url, headers=headers, extensions={"trace": watchdog.trace}) as response:
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
            if watchdog.has_expired:
                # The socket was shut down: a body without a length would read as complete.
                detail = f"body not complete after {settings.timeout_seconds} s"
                raise FetchFailed(original, "timeout", detail, is_transient=True)
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
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        if watchdog.has_expired:
            detail = f"no complete response after {settings.timeout_seconds} s"
            raise FetchFailed(original, "timeout", detail, is_transient=True) from exc
        failure = _failure(exc, original)
        if failure is None:
            raise
        raise failure from exc


def _failure(exc: Exception, original: str) -> FetchFailed | None:
    """What a reject records for an error httpx raised; None for one that is a bug here."""
    if isinstance(exc, httpx.TimeoutException):
        return FetchFailed(original, "timeout", type(exc).__name__, is_transient=True)
    if isinstance(exc, httpx.ConnectError):
        return FetchFailed(original, "connection failed", str(exc)[:200], is_transient=True)
    if isinstance(exc, httpx.DecodingError):
        return FetchFailed(original, "undecodable response", str(exc)[:200])
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchFailed(original, "invalid URL", str(exc)[:200])
    if isinstance(exc, httpx.TransportError):
        return FetchFailed(original, "connection broken", type(exc).__name__, is_transient=True)
    return None
