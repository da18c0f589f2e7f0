"""A feed farm on 127.0.0.1: N feeds x M items, ETag/Last-Modified/304, optional latency,
plus a webhook receiver that timestamps every alert on arrival.

Standard library only (asyncio protocol, HTTP/1.1 keep-alive), so it runs under any Python
(the project venv and the /tmp venv used for lemon24/reader alike).

Run it in the foreground::

    python benchmarks/farm.py serve --feeds 500 --items 50 --hosts 50
    # prints one JSON line: {"ports": [...], "hook": "http://127.0.0.1:P/hook", ...}

Measure that the farm itself is not the bottleneck (one command)::

    python benchmarks/farm.py selftest [--feeds 1000] [--smoke]

Item texts come from ``../shared/eval/dev.jsonl`` (relative to the repository); synthetic
text is used when it is absent. Feed ``f`` always shows its newest ``items`` entries; its
``head`` (newest sequence number) moves with ``POST /_farm/advance``, which changes the body,
its ETag and its Last-Modified. A request whose If-None-Match (or If-Modified-Since) matches
gets ``304``.

Control endpoints (on any port):

* ``GET  /_farm/stats``            counters (requests, 200s, 304s, bytes) and the farm's CPU s
* ``POST /_farm/reset``            zero the counters and forget received hooks
* ``POST /_farm/advance?new=K&first=N&from=S`` feeds S..S+N-1 get K new items each
* ``GET  /_farm/hooks``            ``[[webhook-id, detected_at, arrival_unix], ...]``
* ``GET  /_farm/requests``         ``[[feed, arrival_unix, status], ...]`` (when --log-requests)
* ``POST /hook``                   the webhook receiver (answers 204)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEV_JSONL = REPO.parent / "shared" / "eval" / "dev.jsonl"
EPOCH = datetime(2025, 3, 1, tzinfo=UTC)


# -- content ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    summary: str
    published: datetime
    label: int = 0


def load_texts(path: Path = DEV_JSONL) -> tuple[list[Text], str]:
    """Real item texts from dev.jsonl, else 1,355 synthetic ones. Returns (texts, source)."""
    texts: list[Text] = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                when = datetime.fromisoformat(str(row.get("published") or "")[:19])
            except ValueError:
                when = EPOCH
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            texts.append(
                Text(
                    str(row.get("title") or ""),
                    str(row.get("summary") or ""),
                    when,
                    int(row.get("label") or 0),
                )
            )
        if texts:
            return texts, str(path)
    rng = random.Random(42)
    words = (
        "europe troops ukraine summit paris london coalition force ceasefire minister talks "
        "market energy prices storm election court report police city river school football "
        "festival museum health hospital budget tax climate rain wind study science space"
    ).split()
    for i in range(1355):
        title = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12))).capitalize()
        summary = " ".join(rng.choice(words) for _ in range(rng.randint(20, 45))) + "."
        texts.append(Text(title, summary, EPOCH + timedelta(minutes=i)))
    return texts, "synthetic"


class Content:
    """Feed bodies, built lazily and cached per (feed, head)."""

    def __init__(self, feeds: int, items: int, texts: list[Text], *, label_bias: bool = False):
        self.feeds = feeds
        self.items = items
        self.texts = texts
        self.heads = [items - 1] * feeds  # newest sequence number shown by each feed
        self._cache: dict[int, tuple[int, bytes, str, str]] = {}
        self.label_bias = label_bias

    def text_for(self, feed: int, seq: int) -> Text:
        # Consecutive sequence numbers of one feed map to distinct texts (window < len(texts)).
        return self.texts[(feed * 7919 + seq) % len(self.texts)]

    def advance(self, first: int, count: int, new: int) -> int:
        changed = 0
        for f in range(first, min(first + count, self.feeds)):
            self.heads[f] += new
            self._cache.pop(f, None)
            changed += 1
        return changed

    def get(self, feed: int) -> tuple[bytes, str, str]:
        head = self.heads[feed]
        cached = self._cache.get(feed)
        if cached is not None and cached[0] == head:
            return cached[1], cached[2], cached[3]
        body = self.render(feed, head)
        etag = f'"f{feed}-h{head}"'
        modified = email.utils.format_datetime(EPOCH + timedelta(minutes=head), usegmt=True)
        self._cache[feed] = (head, body, etag, modified)
        return body, etag, modified

    def render(self, feed: int, head: int) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Farm feed {feed}</title><link>https://farm{feed}.example/</link>"
            f"<description>Benchmark feed {feed}</description>"
        ]
        for seq in range(head, max(-1, head - self.items), -1):
            t = self.text_for(feed, seq)
            pub = email.utils.format_datetime(
                t.published + timedelta(seconds=seq % 86400), usegmt=True
            )
            parts.append(
                f"<item><title>{escape(t.title)}</title>"
                f"<link>https://farm{feed}.example/story/{seq}</link>"
                f'<guid isPermaLink="false">farm-{feed}-{seq}</guid>'
                f"<description>{escape(t.summary)}</description>"
                f"<pubDate>{pub}</pubDate></item>"
            )
        parts.append("</channel></rss>\n")
        return "".join(parts).encode("utf-8")


# -- the server ---------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.ok = 0
        self.not_modified = 0
        self.bytes = 0
        self.cpu0 = time.process_time()
        self.hooks: list[tuple[str, str, float]] = []
        self.log: list[tuple[int, float, int]] = []
        self.connections = 0


class FarmProtocol(asyncio.Protocol):
    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.pending = 0  # delayed responses not yet written (latency)
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.farm.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._close()
                return
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
            self.farm.handle(self, method, target, headers, body, keep)

    def send(self, data: bytes, keep: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if not keep:
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class Farm:
    def __init__(self, content: Content, *, latency: float = 0.0, log_requests: bool = False):
        self.content = content
        self.latency = latency
        self.log_requests = log_requests
        self.stats = Stats()
        self.loop: asyncio.AbstractEventLoop | None = None

    def handle(
        self,
        proto: FarmProtocol,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        keep: bool,
    ) -> None:
        path, _, query = target.partition("?")
        if path.startswith("/feed/"):
            self._feed(proto, path, headers, keep)
        elif path == "/hook" and method == "POST":
            arrival = time.time()
            try:
                payload = json.loads(body)
                detected = str(payload.get("detected_at", ""))
            except ValueError:
                detected = ""
            self.stats.hooks.append((headers.get("webhook-id", ""), detected, arrival))
            proto.send(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", keep)
        elif path.startswith("/_farm/"):
            self._control(proto, method, path, parse_qs(query), keep)
        else:
            proto.send(_response(404, b"not found", {}), keep)

    def _feed(self, proto: FarmProtocol, path: str, headers: dict[str, str], keep: bool) -> None:
        stats = self.stats
        stats.requests += 1
        try:
            feed = int(path[6:])
            if not 0 <= feed < self.content.feeds:
                raise ValueError
        except ValueError:
            proto.send(_response(404, b"no such feed", {}), keep)
            return
        body, etag, modified = self.content.get(feed)
        inm = headers.get("if-none-match")
        ims = headers.get("if-modified-since")
        if (inm is not None and inm == etag) or (inm is None and ims == modified):
            stats.not_modified += 1
            data = _response(304, b"", {"ETag": etag, "Last-Modified": modified})
            status = 304
        else:
            stats.ok += 1
            stats.bytes += len(body)
            data = _response(
                200,
                body,
                {
                    "Content-Type": "application/rss+xml; charset=utf-8",
                    "ETag": etag,
                    "Last-Modified": modified,
                },
            )
            status = 200
        if self.log_requests:
            stats.log.append((feed, time.time(), status))
        if self.latency > 0:
            assert self.loop is not None
            self.loop.call_later(self.latency, proto.send, data, keep)
        else:
            proto.send(data, keep)

    def _control(
        self, proto: FarmProtocol, method: str, path: str, q: dict[str, list[str]], keep: bool
    ) -> None:
        s = self.stats
        result: Any
        if path == "/_farm/stats":
            result = {
                "requests": s.requests,
                "ok": s.ok,
                "not_modified": s.not_modified,
                "bytes": s.bytes,
                "cpu": time.process_time() - s.cpu0,
                "hooks": len(s.hooks),
                "connections": s.connections,
            }
        elif path == "/_farm/reset" and method == "POST":
            s.reset()
            result = {"ok": True}
        elif path == "/_farm/advance" and method == "POST":
            new = int(q.get("new", ["1"])[0])
            start = int(q.get("from", ["0"])[0])
            count = int(q.get("first", [str(self.content.feeds)])[0])
            result = {"changed": self.content.advance(start, count, new)}
        elif path == "/_farm/hooks":
            result = s.hooks
        elif path == "/_farm/requests":
            result = s.log
        else:
            proto.send(_response(404, b"no such control", {}), keep)
            return
        proto.send(
            _response(200, json.dumps(result).encode(), {"Content-Type": "application/json"}),
            keep,
        )


_REASONS = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found"}


def _response(status: int, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'X')}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    if status != 304:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def serve(args: argparse.Namespace) -> None:
    texts, source = load_texts()
    content = Content(args.feeds, args.items, texts)
    farm = Farm(content, latency=args.latency, log_requests=args.log_requests)
    loop = asyncio.get_running_loop()
    farm.loop = loop
    servers = []
    ports = []
    for _ in range(max(1, args.hosts) + 1):  # the last port is the webhook receiver's
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        server = await loop.create_server(lambda: FarmProtocol(farm), sock=sock)
        servers.append(server)
        ports.append(sock.getsockname()[1])
    hook_port = ports.pop()
    info = {
        "ports": ports,
        "hook": f"http://127.0.0.1:{hook_port}/hook",
        "control": f"http://127.0.0.1:{hook_port}",
        "feeds": args.feeds,
        "items": args.items,
        "texts": source,
        "pid": os.getpid(),
    }
    print(json.dumps(info), flush=True)
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):
        import signal

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


# -- driving a farm from another process ----------------------------------------------------


def feed_urls(info: dict[str, Any]) -> list[str]:
    ports = info["ports"]
    return [f"http://127.0.0.1:{ports[f % len(ports)]}/feed/{f}" for f in range(info["feeds"])]


class FarmProcess:
    """Starts ``farm.py serve`` in a subprocess; ``control()`` talks to it."""

    def __init__(
        self,
        feeds: int,
        items: int,
        *,
        hosts: int = 50,
        latency: float = 0.0,
        log_requests: bool = False,
        python: str = sys.executable,
    ) -> None:
        cmd = [
            python,
            str(Path(__file__).resolve()),
            "serve",
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            "--hosts",
            str(hosts),
            "--latency",
            str(latency),
        ]
        if log_requests:
            cmd.append("--log-requests")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the farm did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.urls = feed_urls(self.info)
        self.hook = self.info["hook"]
        self._conn: http.client.HTTPConnection | None = None

    def control(self, path: str, method: str = "GET") -> Any:
        host = urlsplit(self.info["control"]).netloc
        conn = http.client.HTTPConnection(host, timeout=60)
        try:
            conn.request(method, path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        return dict(self.control("/_farm/stats"))

    def reset(self) -> None:
        self.control("/_farm/reset", "POST")

    def advance(self, new: int, first: int | None = None, start: int = 0) -> None:
        q = f"new={new}&from={start}" + (f"&first={first}" if first is not None else "")
        self.control(f"/_farm/advance?{q}", "POST")

    def bodies(self) -> list[bytes]:
        """Every feed's current body (fetched over plain keep-alive connections)."""
        out = []
        conns: dict[str, http.client.HTTPConnection] = {}
        for url in self.urls:
            parts = urlsplit(url)
            conn = conns.get(parts.netloc) or http.client.HTTPConnection(parts.netloc)
            conns[parts.netloc] = conn
            conn.request("GET", parts.path)
            out.append(conn.getresponse().read())
        for conn in conns.values():
            conn.close()
        return out

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> FarmProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- selftest: the farm is not the bottleneck -------------------------------------------------


async def _load(urls: list[str], connections: int, etags: dict[str, str] | None) -> dict[str, str]:
    """Fetch every URL once over ``connections`` raw keep-alive sockets; return the ETags."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for u in urls:
        queue.put_nowait(u)
    found: dict[str, str] = {}

    async def worker() -> None:
        conns: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        while not queue.empty():
            url = queue.get_nowait()
            parts = urlsplit(url)
            if parts.netloc not in conns:
                host, port = parts.netloc.split(":")
                conns[parts.netloc] = await asyncio.open_connection(host, int(port))
            reader, writer = conns[parts.netloc]
            extra = f"If-None-Match: {etags[url]}\r\n" if etags and url in etags else ""
            writer.write(
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "etag":
                    found[url] = value.strip()
            if length:
                await reader.readexactly(length)
        for _, writer in conns.values():
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return found


def selftest(args: argparse.Namespace) -> None:
    feeds = 50 if args.smoke else args.feeds
    items = 10 if args.smoke else args.items
    rows = []
    with FarmProcess(feeds, items, hosts=args.hosts) as farm:
        for name, conditional in (("200 (full bodies)", False), ("304 (all unchanged)", True)):
            etags = asyncio.run(_load(farm.urls, 16, None)) if conditional else None
            farm.reset()
            t0 = time.perf_counter()
            asyncio.run(_load(farm.urls, 16, etags))
            wall = time.perf_counter() - t0
            st = farm.stats()
            rows.append((name, feeds, wall, st["cpu"], st["bytes"]))
    print(f"farm selftest: {feeds} feeds x {items} items, {args.hosts} ports, 16 connections")
    print(
        f"{'cycle':22} {'requests':>8} {'wall s':>8} {'farm CPU s':>10} {'req/s':>9} "
        f"{'farm CPU ms/req':>15} {'MB':>7}"
    )
    for name, n, wall, cpu, nbytes in rows:
        print(
            f"{name:22} {n:8d} {wall:8.3f} {cpu:10.3f} {n / wall:9.0f} "
            f"{cpu / n * 1000:15.3f} {nbytes / 1e6:7.1f}"
        )
    print("(the client here is a raw asyncio socket loop in this process, sharing the 2 cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--feeds", type=int, default=500)
    s.add_argument("--items", type=int, default=50)
    s.add_argument("--hosts", type=int, default=50, help="listening ports (= distinct hosts)")
    s.add_argument("--latency", type=float, default=0.0, help="seconds added to each feed request")
    s.add_argument("--log-requests", action="store_true")
    t = sub.add_parser("selftest")
    t.add_argument("--feeds", type=int, default=1000)
    t.add_argument("--items", type=int, default=50)
    t.add_argument("--hosts", type=int, default=50)
    t.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.cmd == "serve":
        asyncio.run(serve(args))
    else:
        selftest(args)


if __name__ == "__main__":
    main()
