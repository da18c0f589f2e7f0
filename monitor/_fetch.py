"""Fetching feeds over HTTP: the only module of the pipeline that does network I/O.

One :class:`Fetcher` owns one ``httpx.AsyncClient`` (connection reuse, HTTP/1.1, TLS verified)
and turns a feed URL into a :class:`FetchResult` or a :class:`~monitor._errors.FetchError`.
Every httpx and timeout error is translated into ``FetchError`` here, once, with a short
message; nothing else in the project sees an httpx exception. Its two helpers raise
``FetchError`` themselves: ``_inflate`` (decoding, zlib's errors) and ``_addresses`` (the
private-address guard, which resolves host names).

Defences, each tested against ``tests/feedserver.py``:

* a per-operation timeout (connect/read/write) *and* a total deadline per fetch, so a server
  that drip-feeds its body cannot hold a slot for ever;
* a cap on the *decoded* body size, enforced while streaming: compressed bodies are inflated
  (``_inflate``) with a bounded ``zlib`` output (``max_length``), so a gzip bomb costs at most
  the cap;
* redirects followed by hand: a hop limit, loop detection, http/https targets only, and
  ``permanent_url`` when the feed has moved for good (only 301/308 on the way);
* a global concurrency limit and a per-host limit (``_fetchslots``; queueing does not count
  against the deadline).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from types import TracebackType
from typing import Self

import httpx

from ._addresses import check_public, refuse_private
from ._errors import MAX_MESSAGE, FetchError
from ._fetchslots import FetchSlots
from ._inflate import Inflater

__all__ = ["ACCEPT", "USER_AGENT", "FetchResult", "Fetcher", "parse_retry_after"]


def _version() -> str:
    try:
        return metadata.version("monitor")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


USER_AGENT = f"monitor/{_version()} (news feed monitor; python-httpx)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.2, */*;q=0.1"
)
ACCEPT_ENCODING = "gzip, deflate"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_MAX_RETRY_AFTER = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One successful fetch: a body (2xx) or "not modified" (304, ``body`` is None)."""

    url: str  # URL finally fetched (after redirects)
    status: int  # 200 (or another 2xx) or 304
    body: bytes | None  # decoded body; None on 304
    headers: Mapping[str, str]  # final response headers, lower-case keys
    etag: str | None
    last_modified: str | None
    permanent_url: str | None  # the final URL when every redirect on the way was 301/308
    elapsed: float  # seconds spent on the network (queueing for a slot excluded)


class Fetcher:
    """Fetches feeds with conditional GET, limits and deadlines. Use as an async context manager.

    ``timeout`` bounds each network operation (connect, one read, one write); ``deadline``
    bounds the whole fetch including redirects and the body. ``max_bytes`` caps the decoded
    body. ``concurrency`` fetches run at once, at most ``per_host`` of them to one host.
    ``transport`` is for tests (e.g. ``httpx.MockTransport``).
    """

    def __init__(
        self,
        *,
        timeout: float = 20,
        deadline: float = 30,
        max_bytes: int = 15 * 2**20,
        max_redirects: int = 5,
        concurrency: int = 32,
        per_host: int = 2,
        allow_private: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if min(timeout, deadline) <= 0 or max_bytes < 0 or max_redirects < 0:
            raise ValueError("timeout and deadline must be > 0, max_bytes and max_redirects >= 0")
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be >= 1")
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.concurrency = concurrency
        self.per_host = per_host
        self.allow_private = allow_private  # False: loopback/private/link-local refused
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots = FetchSlots(concurrency, per_host)

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("Fetcher is already open")
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        self._client = httpx.AsyncClient(
            transport=self._transport,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            follow_redirects=False,
            verify=True,
            http1=True,
            http2=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url``, sending ``etag``/``last_modified`` as a conditional GET.

        Returns a 2xx or 304 result; raises :class:`FetchError` for everything else.
        """
        client = self._client
        if client is None:
            raise RuntimeError("use 'async with Fetcher() as fetcher' before fetching")
        conditional: dict[str, str] = {}
        if etag := _validator(etag):
            conditional["If-None-Match"] = etag
        if last_modified := _validator(last_modified):
            conditional["If-Modified-Since"] = last_modified

        current = _check_url(url, what="feed URL")
        seen = {str(current)}
        permanent = True
        spent = 0.0
        for _hop in range(self.max_redirects + 1):
            async with self._slots.take(current.netloc.decode("ascii").lower()):
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.deadline - spent):
                        if not self.allow_private:  # every hop, on the resolved addresses
                            await refuse_private(current)
                        hop = await self._hop(client, current, conditional)
                except TimeoutError:
                    raise FetchError(f"deadline of {self.deadline:g} s exceeded") from None
                finally:
                    spent += time.monotonic() - started
            if isinstance(hop, FetchResult):
                return _finish(hop, elapsed=spent, moved=permanent and len(seen) > 1)
            status, target = hop
            permanent = permanent and status in _PERMANENT
            current = _check_url(target, base=current, what="redirect target")
            if str(current) in seen:
                raise FetchError(f"redirect loop at {current}"[:MAX_MESSAGE], status=status)
            seen.add(str(current))
        raise FetchError(f"more than {self.max_redirects} redirects", status=status)

    async def _hop(
        self, client: httpx.AsyncClient, url: httpx.URL, headers: Mapping[str, str]
    ) -> FetchResult | tuple[int, str]:
        """One request: a result, ``(status, location)`` for a redirect, or FetchError."""
        try:
            request = client.build_request("GET", url, headers=headers)
            response = await client.send(request, stream=True)
            try:
                if not self.allow_private:  # the address actually connected to (rebinding)
                    stream = response.extensions.get("network_stream")
                    peer = stream.get_extra_info("server_addr") if stream is not None else None
                    if peer:
                        check_public(url.host, str(peer[0]))
                return await self._handle(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise FetchError(_describe(exc)) from exc
        except httpx.InvalidURL as exc:
            # httpx parses a redirect's Location eagerly (response.next_request) even when it
            # does not follow it; our own URL was checked before, so this is the Location.
            raise FetchError(f"invalid redirect target: {exc}"[:MAX_MESSAGE]) from exc
        except (OSError, ValueError, OverflowError, ExceptionGroup) as exc:
            # What the transport raises outside httpx's tree (an address it cannot use):
            # this feed's error, never the cycle's.
            raise FetchError(f"cannot connect: {type(exc).__name__}"[:MAX_MESSAGE]) from exc

    async def _handle(self, response: httpx.Response) -> FetchResult | tuple[int, str]:
        status = response.status_code
        headers = {key.lower(): value for key, value in response.headers.items()}
        if status in _REDIRECTS:
            location = headers.get("location", "").strip()
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location", status=status)
            return status, location
        if status == 304 and not request_was_conditional(response):
            raise FetchError(
                "HTTP 304 Not Modified to a request that was not conditional", status=status
            )
        if status == 304 or 200 <= status < 300:
            body = None if status == 304 else await self._read_body(response, headers)
            return FetchResult(
                url=str(response.url),
                status=status,
                body=body,
                headers=headers,
                etag=_validator(headers.get("etag")),
                last_modified=_validator(headers.get("last-modified")),
                permanent_url=None,
                elapsed=0.0,
            )
        reason = response.reason_phrase or "error"
        raise FetchError(
            f"HTTP {status} {reason}"[:MAX_MESSAGE],
            status=status,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )

    async def _read_body(self, response: httpx.Response, headers: Mapping[str, str]) -> bytes:
        cap = self.max_bytes
        too_large = FetchError(f"body larger than {_size(cap)}", status=response.status_code)
        length = headers.get("content-length", "").strip()
        if length.isascii() and length.isdigit() and int(length) > cap:
            raise too_large
        inflater = Inflater.for_encoding(headers.get("content-encoding", ""))
        body = bytearray()
        async for chunk in response.aiter_raw():
            # Never ask zlib for more than one byte beyond the cap: a bomb stops here.
            body += inflater.inflate(chunk, cap - len(body) + 1)
            if len(body) > cap:
                raise too_large
        body += inflater.flush(cap - len(body) + 1)
        if len(body) > cap:
            raise too_large
        return bytes(body)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), clamped to
    [0, 7 days]; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC for HTTP dates
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def request_was_conditional(response: httpx.Response) -> bool:
    headers = response.request.headers
    return "if-none-match" in headers or "if-modified-since" in headers


def _check_url(url: str, *, what: str, base: httpx.URL | None = None) -> httpx.URL:
    try:
        parsed = httpx.URL(url) if base is None else base.join(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"invalid {what} {url!r}: {exc}"[:MAX_MESSAGE]) from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"invalid {what} {url!r}: only http and https"[:MAX_MESSAGE])
    if not parsed.host:
        raise FetchError(f"invalid {what} {url!r}: no host"[:MAX_MESSAGE])
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise FetchError(
            f"invalid {what} {url!r}: port {parsed.port} is out of range"[:MAX_MESSAGE]
        )
    return parsed


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified that can go back in a request header (printable ASCII), else
    None: a server's "café" cannot be encoded, and kept it failed every later request."""
    if value and value.isascii() and value.isprintable():
        return value
    return None


def _finish(hop: FetchResult, *, elapsed: float, moved: bool) -> FetchResult:
    return FetchResult(
        url=hop.url,
        status=hop.status,
        body=hop.body,
        headers=hop.headers,
        etag=hop.etag,
        last_modified=hop.last_modified,
        permanent_url=hop.url if moved else None,
        elapsed=elapsed,
    )


_KINDS: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectTimeout, "connect timed out"),
    (httpx.ReadTimeout, "read timed out"),
    (httpx.WriteTimeout, "write timed out"),
    (httpx.PoolTimeout, "timed out waiting for a connection"),
    (httpx.TimeoutException, "timed out"),
    (httpx.ConnectError, "cannot connect"),
    (httpx.RemoteProtocolError, "protocol error"),
    (httpx.LocalProtocolError, "protocol error"),
    (httpx.ReadError, "read error"),
    (httpx.WriteError, "write error"),
    (httpx.UnsupportedProtocol, "unsupported URL"),
    (httpx.DecodingError, "cannot decode body"),
)


def _describe(exc: httpx.HTTPError) -> str:
    """A short, single-line message for a network/TLS/protocol error: a failed TLS handshake
    and an answer that is not HTTP at all in plain words, not the TLS library's or the HTTP
    parser's own text."""
    tls = _tls_failure(exc)
    if tls is not None:
        message = f"TLS handshake failed: {tls}"
    elif isinstance(exc, httpx.RemoteProtocolError) and _NOT_HTTP.match(str(exc)):
        message = "the answer is not HTTP"
    elif isinstance(exc, httpx.RemoteProtocolError) and str(exc).startswith(_NO_ANSWER):
        # no bytes, or a line that is no status line (a banner: SSH, SMTP) and no more
        message = "the server closed the connection without an HTTP answer"
    else:
        kind = next((text for cls, text in _KINDS if isinstance(exc, cls)), "network error")
        detail = " ".join(str(exc).split())
        message = f"{kind}: {detail}" if detail else kind
    return message[:MAX_MESSAGE]


# what the HTTP parser (h11) says when the first bytes of the answer are no status line
_NOT_HTTP = re.compile(
    r"illegal (status|request) line|no response line|receive buffer too long", re.IGNORECASE
)
_NO_ANSWER = "Server disconnected without sending a response"  # httpcore's words
_SSL_NOISE = re.compile(r"^\[SSL(?:: [A-Z0-9_]+)?\]\s*|\s*\(_ssl\.c:\d+\)$")


def _tls_failure(exc: BaseException) -> str | None:
    """Why the TLS handshake failed (``wrong version number``, ``certificate verify failed:
    self-signed certificate``), if an :class:`ssl.SSLError` caused ``exc``; else None."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
            return f"certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            text = str(cause.args[1]) if len(cause.args) > 1 else str(cause)
            text = " ".join(_SSL_NOISE.sub("", text).split())
            return text or str(cause.reason or "").replace("_", " ").lower() or "unknown error"
        cause = cause.__cause__ or cause.__context__
    return None


def _size(n: int) -> str:
    if n >= 2**20 and n % 2**20 == 0:
        return f"{n // 2**20} MiB"
    if n >= 2**10 and n % 2**10 == 0:
        return f"{n // 2**10} KiB"
    return f"{n} bytes"
