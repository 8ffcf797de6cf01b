"""A real HTTP server on 127.0.0.1 for the ingest tests: routes are functions, requests are logged.

A route returns a ``Reply``: status, headers and a body that is bytes or an iterator of chunks
(streamed until it ends or the client hangs up), optionally after a delay. Connections close
after each response (HTTP/1.0), so a body without Content-Length ends when the server stops.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data" / "ingest"


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    delay_seconds: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]


Route = Callable[[Request], Reply]


class LoopbackServer:
    """Serves ``routes`` (path → function) on 127.0.0.1 until ``close()``."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[Request] = []
        self.hits: Counter = Counter()
        self.in_flight: Counter = Counter()
        self.max_in_flight: Counter = Counter()
        self.aborted: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                    server.hits[self.path] += 1
                    server.in_flight[self.path] += 1
                    server.max_in_flight[self.path] = max(
                        server.max_in_flight[self.path], server.in_flight[self.path]
                    )
                try:
                    route = server.routes.get(self.path.split("?", 1)[0])
                    reply = route(request) if route else Reply(404, body=b"not found")
                    self._send(reply)
                finally:
                    with server._lock:
                        server.in_flight[self.path] -= 1

            def _send(self, reply: Reply) -> None:
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if isinstance(reply.body, bytes) and "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    chunks: Iterable[bytes] = [reply.body] if isinstance(reply.body, bytes) else reply.body
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    server.aborted.append(self.path)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

        return Handler


def fixture(name: str, base: str = "") -> bytes:
    """A file from tests/data/ingest, with ``$BASE`` replaced by the server's address."""
    return (DATA / name).read_bytes().replace(b"$BASE", base.encode())


def static(body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str) -> Route:
    return lambda _request: Reply(200, {"Content-Type": content_type, **headers}, body)


def redirect(location: str, status: int = 302) -> Route:
    return lambda _request: Reply(status, {"Location": location})


def status(code: int) -> Route:
    return lambda _request: Reply(code, {"Content-Type": "text/plain"}, f"HTTP {code}".encode())


def endless(chunk_bytes: int = 64 * 1024, total_bytes: int = 50 * 1024 * 1024) -> Iterator[bytes]:
    """``total_bytes`` of generated body, never held in memory at once."""
    chunk = b"x" * chunk_bytes
    for _ in range(total_bytes // chunk_bytes):
        yield chunk


def trickle(pause_seconds: float = 0.2, count: int = 100) -> Iterator[bytes]:
    for _ in range(count):
        time.sleep(pause_seconds)
        yield b"<"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loopback_only(monkeypatch) -> None:
    """Make any connection to a host other than 127.0.0.1 fail the test at once."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        assert (
            host in ("127.0.0.1", "::1", "localhost")
            or isinstance(host, bytes | str)
            and str(host).startswith("/")
        ), f"tried to contact {address!r}: the tests reach loopback only"
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    lang: str = "en",
    meta_charset: str | None = None,
    http_equiv_charset: str | None = None,
    published: str | None = None,
    author: str | None = None,
    canonical: str | None = None,
    site: str = "Loopback Times",
) -> str:
    """A news page with navigation, an article and a footer, as outlets publish them."""
    head = [f"<title>{title} | {site}</title>", f'<meta property="og:site_name" content="{site}">']
    if meta_charset:
        head.insert(0, f'<meta charset="{meta_charset}">')
    if http_equiv_charset:
        head.insert(0, f'<meta http-equiv="Content-Type" content="text/html; charset={http_equiv_charset}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    if author:
        head.append(f'<meta name="author" content="{author}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{chr(10).join(head)}
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<main><article>
<h1>{title}</h1>
{body}
</article></main>
<footer><p>Copyright 2025 {site}. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body>
</html>
"""


ZELENSKY_PAGE = (
    "Zelensky: no deal about Ukraine without Ukraine",
    [
        "Ukrainian President Volodymyr Zelensky said on Sunday that Kyiv would not accept any agreement"
        " about the war that was reached without Ukraine at the table.",
        '"Ukraine will not recognise any agreements about us without us," Zelensky told reporters in Kyiv,'
        " after talks between Russian and American officials in Riyadh.",
        "He said Europe also had to take part, and that security guarantees for Ukraine had to come before"
        " any ceasefire.",
        "The Kremlin did not immediately respond to his remarks.",
    ],
)
RUSSIAN_PAGE = (
    "Песков: переговоры в Эр-Рияде были полезными",
    [
        "Пресс-секретарь Кремля Дмитрий Песков заявил во вторник, что переговоры российской и американской"
        " делегаций в Эр-Рияде были полезными и деловыми.",
        "«Разговор был полезным», — сказал Песков журналистам в Москве, добавив, что стороны договорились"
        " назначить группы для работы над возможным урегулированием.",
        "Министр иностранных дел Сергей Лавров и государственный секретарь США Марко Рубио возглавили"
        " делегации, которые встречались более четырёх часов.",
    ],
)
FRENCH_PAGE = (
    "Réunion à Genève : les émissaires se séparent sans déclaration",
    [
        "Les émissaires de Moscou et de Washington se sont réunis mercredi à Genève, dans un café près du"
        " lac, et se sont séparés sans déclaration commune, selon des responsables.",
        "« Nous avons écouté, nous avons noté », a déclaré un diplomate européen présent à Genève, ajoutant"
        " que la prochaine étape dépendrait de Kyiv.",
        "Les ministres européens doivent se retrouver à Bruxelles la semaine prochaine pour préparer la suite"
        " des négociations.",
    ],
)
