"""A real, threaded HTTP/1.1 feed server on 127.0.0.1 for tests, with scripted misbehaviour.

::

    def test_x(feed_server):
        feed_server.add("/feed", rss([{"title": "Hello", "link": "https://e.test/1"}]))
        url = feed_server.url("/feed")            # http://127.0.0.1:<port>/feed
        feed_server.add_redirect("/old", "/feed", status=301)
        feed_server.add_behaviour("/slow", "drip", body=b"<rss/>", interval=1.0)
        assert feed_server.count("/feed") == 1
        path, headers = feed_server.requests[-1]  # headers have lower-case keys

Behaviours (``add_behaviour(path, kind, **kw)``):

* ``"status"``: ``status=503, headers={"Retry-After": "120"}, body=b""``
* ``"drip"``: headers (with the full Content-Length), then one byte of ``body`` per ``interval``
* ``"gzip"``: ``Content-Encoding: gzip``; ``body=`` is compressed here, ``compressed=`` is sent
  as is (a gzip bomb, a broken stream)
* ``"reset"``: sends headers and ``sent`` bytes of ``body`` then resets the connection
* ``"slow_headers"``: waits ``delay`` seconds before the status line, then serves ``body``
* ``"hold"``: like a normal 200 after ``delay`` seconds; the server records the peak number of
  requests in progress at once in ``server.peak``
* ``"stream"``: a 200 without Content-Length, ``body`` repeated until ``size`` bytes are sent
  (64 KiB writes), then the connection closes; bytes written are counted in ``server.sent``

:class:`RawServer` is not HTTP at all: it answers every connection with fixed bytes (before
reading anything) and closes it — a port that speaks something else, for ``http://`` and
``https://`` URLs alike.

Stopping the server is prompt: sleeping handlers wake up and open connections are shut down.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import pytest

__all__ = ["FeedServer", "RawServer", "feed_server", "gzip_bomb", "rss"]

_AUTO: Any = object()
FIXED_LAST_MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT"


@dataclass
class _Route:
    kind: str  # "feed" | "redirect" | a behaviour
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


class FeedServer:
    """See the module docstring. Start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._in_flight = 0
        self.peak = 0
        self.sent: dict[str, int] = {}  # "stream" behaviour: bytes written per path
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.request_times: list[tuple[str, float]] = []  # (path, time.monotonic()) of each
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=2)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- routes ---------------------------------------------------------------------------
    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml",
        etag: str | None = _AUTO,
        last_modified: str | None = _AUTO,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve ``body``; answer 304 to a matching If-None-Match / If-Modified-Since."""
        all_headers = {"Content-Type": content_type}
        if etag is _AUTO:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if last_modified is _AUTO:
            last_modified = FIXED_LAST_MODIFIED
        if etag is not None:
            all_headers["ETag"] = etag
        if last_modified is not None:
            all_headers["Last-Modified"] = last_modified
        all_headers.update(headers or {})
        self._set(path, _Route("feed", body, status, all_headers))

    def add_redirect(self, path: str, to: str, status: int = 301) -> None:
        """Redirect ``path`` to ``to`` (a path on this server or any URL, sent as is)."""
        self._set(path, _Route("redirect", status=status, headers={"Location": to}))

    def add_behaviour(self, path: str, kind: str, **kw: Any) -> None:
        if kind not in _BEHAVIOURS:
            raise ValueError(f"unknown behaviour {kind!r}; choose from {sorted(_BEHAVIOURS)}")
        self._set(
            path,
            _Route(
                kind,
                body=kw.pop("body", b""),
                status=kw.pop("status", 200),
                headers=dict(kw.pop("headers", {})),
                options=kw,
            ),
        )

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def _set(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the server is stopping."""
        return self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many feeds polled at once: never drop a SYN (1 s+ retransmits)

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: FeedServer):
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # an idle keep-alive connection does not keep a thread for ever

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._lock:
            self.server.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path
        with owner._lock:
            owner.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
            owner.request_times.append((path, time.monotonic()))
            owner._in_flight += 1
            owner.peak = max(owner.peak, owner._in_flight)
        try:
            route = owner._route(path)
            if route is None:
                self._send(404, b"not found", {"Content-Type": "text/plain"})
            else:
                _BEHAVIOURS[route.kind](self, route)
        except OSError:
            self.close_connection = True
        finally:
            with owner._lock:
                owner._in_flight -= 1

    # -- helpers used by behaviours -----------------------------------------------------
    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def _not_modified(self, headers: Mapping[str, str]) -> bool:
        inm = self.headers.get("If-None-Match")
        etag = headers.get("ETag")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return etag is not None and ("*" in tags or etag.removeprefix("W/") in tags)
        ims = self.headers.get("If-Modified-Since")
        return ims is not None and ims == headers.get("Last-Modified")


def _serve_feed(h: _Handler, route: _Route) -> None:
    if route.status == 200 and h._not_modified(route.headers):
        h._send(304, b"", {k: v for k, v in route.headers.items() if k != "Content-Type"})
    else:
        h._send(route.status, route.body, route.headers)


def _serve_redirect(h: _Handler, route: _Route) -> None:
    h._send(route.status, b"", route.headers)


def _serve_status(h: _Handler, route: _Route) -> None:
    status = route.status if route.status != 200 else 500
    h._send(status, route.body, {"Content-Type": "text/plain", **route.headers})


def _serve_drip(h: _Handler, route: _Route) -> None:
    interval = float(route.options.get("interval", 1.0))
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(len(route.body)))
    h.end_headers()
    h.wfile.flush()
    for i in range(len(route.body)):
        h.wfile.write(route.body[i : i + 1])
        h.wfile.flush()
        if h.server.owner._sleep(interval):
            break
    h.close_connection = True


def _serve_gzip(h: _Handler, route: _Route) -> None:
    data = route.options.get("compressed")
    if data is None:
        data = gzip.compress(route.body)
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    h._send(200, data, {**headers, **route.headers})


def _serve_reset(h: _Handler, route: _Route) -> None:
    sent = int(route.options.get("sent", len(route.body) // 2))
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(len(route.body)))
    h.end_headers()
    h.wfile.write(route.body[:sent])
    h.wfile.flush()
    # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True


def _serve_slow_headers(h: _Handler, route: _Route) -> None:
    if h.server.owner._sleep(float(route.options.get("delay", 1.0))):
        h.close_connection = True
        return
    h._send(200, route.body, {"Content-Type": "application/rss+xml", **route.headers})


_serve_hold = _serve_slow_headers


def _serve_stream(h: _Handler, route: _Route) -> None:
    size = int(route.options["size"])
    chunk = (route.body or b"x") * max(1, 65536 // max(1, len(route.body or b"x")))
    owner = h.server.owner
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    sent = 0
    try:
        while sent < size and not owner._stopping.is_set():
            piece = chunk[: size - sent]
            h.wfile.write(piece)
            sent += len(piece)
    finally:
        with owner._lock:
            owner.sent[h.path] = owner.sent.get(h.path, 0) + sent


_BEHAVIOURS = {
    "feed": _serve_feed,
    "redirect": _serve_redirect,
    "status": _serve_status,
    "drip": _serve_drip,
    "gzip": _serve_gzip,
    "reset": _serve_reset,
    "slow_headers": _serve_slow_headers,
    "hold": _serve_hold,
    "stream": _serve_stream,
}


def rss(
    items: list[dict[str, Any]], title: str = "Test feed", link: str = "https://e.test/"
) -> bytes:
    """An RSS 2.0 document; each item dict may have title, summary, link, guid, published
    (an aware ``datetime``; naive is taken as UTC) and author."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>Test feed</description>",
    ]
    for item in items:
        parts.append("<item>")
        for key, tag in (("title", "title"), ("summary", "description"), ("link", "link")):
            if item.get(key) is not None:
                parts.append(f"<{tag}>{escape(str(item[key]))}</{tag}>")
        if item.get("guid") is not None:
            parts.append(f'<guid isPermaLink="false">{escape(str(item["guid"]))}</guid>')
        if item.get("author") is not None:
            parts.append(f"<author>{escape(str(item['author']))}</author>")
        published = item.get("published")
        if published is not None:
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            date = format_datetime(published.astimezone(UTC), usegmt=True)
            parts.append(f"<pubDate>{date}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


class RawServer:
    """A TCP server on 127.0.0.1 that writes ``answer`` to each connection at once, then closes
    it; :meth:`stop` (or the ``with`` block's end) closes the listening socket."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.sendall(self.answer)
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(1.0)
                conn.recv(65536)  # what the client sent, so the close is not a reset

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh :class:`FeedServer` on 127.0.0.1 (ephemeral port), stopped after the test."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


def gzip_bomb(mib: int) -> bytes:
    """A gzip stream of ``mib`` MiB of zeros, about 1 KB per MiB, built in a fraction of a second.

    Each 1 MiB block is compressed after a full flush (no back-references across blocks), so
    every block after the first compresses to the same bytes and can simply be repeated; the
    trailer carries the real CRC-32 and length, so a decoder sees a valid stream.
    """
    block = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib * 2**20) & 0xFFFFFFFF)
    return header + first + repeat * (mib - 1) + end + trailer
