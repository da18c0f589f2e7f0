"""The fetcher against a real HTTP server on 127.0.0.1 (tests/feedserver.py)."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest

from monitor._errors import FetchError
from monitor._fetch import USER_AGENT, Fetcher, FetchResult, parse_retry_after
from tests.feedserver import FeedServer, rss

T = TypeVar("T")
FEED = rss([{"title": "Hello", "link": "https://e.test/1", "guid": "1"}])


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours *_PROXY variables; the tests talk to 127.0.0.1 directly."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(url: str, **kw: Any) -> FetchResult:
    conditional = {k: kw.pop(k) for k in ("etag", "last_modified") if k in kw}
    async with Fetcher(**kw) as fetcher:
        return await fetcher.fetch(url, **conditional)


def fetch_error(url: str, **kw: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(fetch(url, **kw))
    return info.value


def test_200_returns_body_headers_and_validators(feed_server: FeedServer) -> None:
    feed_server.add("/feed", FEED, etag='"abc"')
    result = run(fetch(feed_server.url("/feed")))
    assert result.status == 200
    assert result.body == FEED
    assert result.url == feed_server.url("/feed")
    assert result.etag == '"abc"'
    assert result.last_modified == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.permanent_url is None
    assert result.elapsed >= 0
    _, headers = feed_server.requests[0]
    assert headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("monitor/")
    assert "application/rss+xml" in headers["accept"]
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in headers


def test_304_when_validators_match(feed_server: FeedServer) -> None:
    feed_server.add("/feed", FEED, etag='"v1"')
    first = run(fetch(feed_server.url("/feed")))
    second = run(
        fetch(feed_server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    )
    assert second.status == 304
    assert second.body is None
    assert second.etag == '"v1"'
    _, headers = feed_server.requests[-1]
    assert headers["if-none-match"] == '"v1"'
    assert headers["if-modified-since"] == first.last_modified


def test_validators_that_cannot_be_sent_back_are_not_kept(feed_server: FeedServer) -> None:
    """A server's ETag "café" or a localised Last-Modified (bytes outside ASCII) cannot go
    back in a request header: kept, every later poll of the feed failed before it left."""
    feed_server.add("/feed", FEED, etag='"caf\xe9"', last_modified="lun., 30 d\xe9c. 2026")
    first = run(fetch(feed_server.url("/feed")))
    assert first.status == 200 and first.etag is None and first.last_modified is None
    # one stored before this rule: the request goes out unconditional instead of failing
    again = run(fetch(feed_server.url("/feed"), etag='"caf\xe9"', last_modified="d\xe9c."))
    assert again.status == 200 and again.body == FEED
    assert "if-none-match" not in feed_server.requests[-1][1]


def test_304_on_last_modified_alone(feed_server: FeedServer) -> None:
    feed_server.add("/feed", FEED, etag=None)
    result = run(fetch(feed_server.url("/feed"), last_modified="Mon, 02 Nov 2026 10:00:00 GMT"))
    assert result.status == 304
    assert "if-none-match" not in feed_server.requests[-1][1]


def test_permanent_redirects_set_permanent_url(feed_server: FeedServer) -> None:
    feed_server.add("/new", FEED)
    feed_server.add_redirect("/old", "/mid", status=301)
    feed_server.add_redirect("/mid", feed_server.url("/new"), status=308)
    result = run(fetch(feed_server.url("/old"), etag='"x"'))
    assert result.body == FEED
    assert result.url == feed_server.url("/new")
    assert result.permanent_url == feed_server.url("/new")
    assert feed_server.requests[-1][1]["if-none-match"] == '"x"'


def test_temporary_redirect_in_chain_gives_no_permanent_url(feed_server: FeedServer) -> None:
    feed_server.add("/new", FEED)
    feed_server.add_redirect("/old", "/mid", status=301)
    feed_server.add_redirect("/mid", "/new", status=302)
    result = run(fetch(feed_server.url("/old")))
    assert result.url == feed_server.url("/new")
    assert result.permanent_url is None


def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/a", "/b")
    feed_server.add_redirect("/b", "/a")
    error = fetch_error(feed_server.url("/a"))
    assert "redirect loop" in str(error)
    assert feed_server.count("/a") == 1


def test_too_many_redirects(feed_server: FeedServer) -> None:
    for i in range(4):
        feed_server.add_redirect(f"/r{i}", f"/r{i + 1}", status=302)
    feed_server.add("/r4", FEED)
    assert run(fetch(feed_server.url("/r0"), max_redirects=4)).body == FEED
    error = fetch_error(feed_server.url("/r0"), max_redirects=3)
    assert "more than 3 redirects" in str(error)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://e.test/x", "javascript:alert(1)"])
def test_redirect_to_other_scheme_refused(feed_server: FeedServer, target: str) -> None:
    feed_server.add_redirect("/feed", target)
    error = fetch_error(feed_server.url("/feed"))
    assert str(error).startswith("invalid redirect target")


def test_non_http_feed_url_refused() -> None:
    assert "only http and https" in str(fetch_error("file:///etc/passwd"))


def test_404(feed_server: FeedServer) -> None:
    error = fetch_error(feed_server.url("/missing"))
    assert error.status == 404
    assert str(error) == "HTTP 404 Not Found"
    assert error.retry_after is None


def test_410(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/gone", "status", status=410)
    error = fetch_error(feed_server.url("/gone"))
    assert error.status == 410


def test_503_with_retry_after_seconds(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/busy", "status", status=503, headers={"Retry-After": "120"})
    error = fetch_error(feed_server.url("/busy"))
    assert (error.status, error.retry_after) == (503, 120.0)


@pytest.mark.parametrize("digit", ["\u00b2", "\u00b3\u00b9"])  # "²", "³¹": digits, not ASCII
def test_a_non_ascii_digit_in_a_header_keeps_the_status(
    feed_server: FeedServer, digit: str
) -> None:
    """str.isdigit() holds for "²", which float() refuses: a 410 or 503 whose Retry-After was
    such a byte read as "cannot connect: ValueError", so a gone feed was never marked gone
    and a busy one lost its status."""
    feed_server.add_behaviour("/gone", "status", status=410, headers={"Retry-After": digit})
    assert fetch_error(feed_server.url("/gone")).status == 410
    feed_server.add_behaviour("/busy", "status", status=503, headers={"Retry-After": digit})
    error = fetch_error(feed_server.url("/busy"))
    assert (error.status, error.retry_after) == (503, None)
    assert parse_retry_after(digit) is None


def test_429_with_retry_after_date(feed_server: FeedServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    feed_server.add_behaviour("/slow", "status", status=429, headers={"Retry-After": when})
    error = fetch_error(feed_server.url("/slow"))
    assert error.status == 429
    assert error.retry_after is not None
    assert 3500 < error.retry_after <= 3600


def test_parse_retry_after_clamps_and_ignores_garbage() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("99999999") == 7 * 24 * 3600
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_drip_feed_hits_the_deadline(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/drip", "drip", body=FEED, interval=0.2)
    started = time.monotonic()
    error = fetch_error(feed_server.url("/drip"), timeout=5, deadline=0.6)
    assert str(error) == "deadline of 0.6 s exceeded"
    assert error.status is None
    assert time.monotonic() - started < 2


def test_slow_headers_hit_the_read_timeout(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/slow", "slow_headers", body=FEED, delay=2)
    error = fetch_error(feed_server.url("/slow"), timeout=0.3, deadline=5)
    assert str(error).startswith("read timed out")
    assert error.status is None


def test_body_over_the_cap_refused(feed_server: FeedServer) -> None:
    feed_server.add("/big", b"x" * 5000)
    assert run(fetch(feed_server.url("/big"), max_bytes=5000)).body == b"x" * 5000
    error = fetch_error(feed_server.url("/big"), max_bytes=4096)
    assert str(error) == "body larger than 4 KiB"


def test_body_over_the_cap_refused_while_streaming(feed_server: FeedServer) -> None:
    # No Content-Length to refuse early: the cap is counted on the streamed bytes.
    big = b"y" * 100_000
    feed_server.add_behaviour("/big", "gzip", body=big)
    assert run(fetch(feed_server.url("/big"))).body == big
    error = fetch_error(feed_server.url("/big"), max_bytes=50_000)
    assert "larger than" in str(error)


def test_gzip_is_decoded(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/gz", "gzip", body=FEED)
    result = run(fetch(feed_server.url("/gz")))
    assert result.body == FEED
    assert result.headers["content-encoding"] == "gzip"


def test_broken_gzip_is_a_fetch_error(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/gz", "gzip", compressed=gzip.compress(FEED)[:-30] + b"garbage!")
    assert "cannot decode" in str(fetch_error(feed_server.url("/gz")))


def _bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(size // 2**20)]
    return b"".join([*parts, compressor.flush()])


def test_gzip_bomb_refused_with_bounded_memory(feed_server: FeedServer) -> None:
    bomb = _bomb(256 * 2**20)  # ~250 KB on the wire, 256 MiB inflated
    assert len(bomb) < 300_000
    feed_server.add_behaviour("/bomb", "gzip", compressed=bomb)
    tracemalloc.start()
    try:
        error = fetch_error(feed_server.url("/bomb"), max_bytes=2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == "body larger than 1 MiB"
    assert peak < 8 * 2**20, f"inflated {peak / 2**20:.1f} MiB for a 1 MiB cap"


def test_connection_reset_mid_body(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/reset", "reset", body=FEED * 20, sent=100)
    error = fetch_error(feed_server.url("/reset"))
    assert error.status is None
    assert "\n" not in str(error)
    assert str(error).split(":")[0] in {"protocol error", "read error"}


def test_connection_refused() -> None:
    import socket

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert str(error).startswith("cannot connect")
    assert error.status is None


def test_per_host_limit_honoured(feed_server: FeedServer) -> None:
    for i in range(6):
        feed_server.add_behaviour(f"/hold{i}", "hold", body=FEED, delay=0.15)

    async def main() -> list[FetchResult]:
        async with Fetcher(per_host=2, concurrency=10) as fetcher:
            urls = [feed_server.url(f"/hold{i}") for i in range(6)]
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    results = run(main())
    assert [r.body for r in results] == [FEED] * 6
    assert feed_server.peak == 2


def test_global_limit_honoured(feed_server: FeedServer) -> None:
    for i in range(4):
        feed_server.add_behaviour(f"/hold{i}", "hold", body=FEED, delay=0.1)

    async def main() -> None:
        async with Fetcher(per_host=4, concurrency=1) as fetcher:
            await asyncio.gather(*(fetcher.fetch(feed_server.url(f"/hold{i}")) for i in range(4)))
            assert not fetcher._slots.hosts  # per-host slots are dropped when idle

    run(main())
    assert feed_server.peak == 1


def test_fetch_outside_context_manager_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        run(Fetcher().fetch("http://127.0.0.1/"))


def test_unsupported_content_encoding_via_mock_transport() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"abc", headers={"Content-Encoding": "br"})

    error = fetch_error("https://feeds.e.test/x", transport=httpx.MockTransport(handler))
    assert "unsupported Content-Encoding" in str(error)


def test_server_stops_promptly_during_a_drip(feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/drip", "drip", body=FEED, interval=30)

    async def main() -> None:
        async with Fetcher(deadline=5) as fetcher:
            task = asyncio.create_task(fetcher.fetch(feed_server.url("/drip")))
            while not feed_server.count("/drip"):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await asyncio.to_thread(feed_server.stop)
            assert time.monotonic() - started < 1
            with pytest.raises(FetchError):
                await task

    run(main())


def test_tls_error_is_a_short_fetch_error(feed_server: FeedServer) -> None:
    feed_server.add("/feed", FEED)
    error = fetch_error(feed_server.url("/feed").replace("http://", "https://"), timeout=2)
    assert str(error).startswith("TLS handshake failed: "), str(error)
    assert "_ssl.c" not in str(error) and "\n" not in str(error) and len(str(error)) <= 200
    assert error.status is None


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_zlib_wrapped_or_raw(wbits: int) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = compressor.compress(FEED) + compressor.flush()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "deflate"}
        return httpx.Response(200, stream=httpx.ByteStream(data), headers=headers)

    assert run(fetch("https://feeds.e.test/x", transport=httpx.MockTransport(handler))).body == FEED
