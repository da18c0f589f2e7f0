"""The identity of a feed URL. Pure.

``HTTP://Example.COM:80`` and ``http://example.com/`` are one feed: :func:`canonical_feed_url`
gives both the same text. Used when feeds are added from the CLI or imported from OPML, and to
find a feed that the user names in another spelling.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
HTTP_URL = "expected an http(s) URL"
PORT = f"{HTTP_URL} whose port is a number from 1 to 65535"
BRACKETS = f"{HTTP_URL} with nothing but a :port after its IPv6 address in brackets"
HOST = f"{HTTP_URL} whose host is a host name or an IP address"
_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]")  # a DNS name's (and intranets' underscore)


class FeedUrlError(ValueError):
    """A URL no feed can have; ``expected`` says what was expected, as a config error does
    (``str()`` quotes the URL before it)."""

    def __init__(self, url: str, expected: str) -> None:
        super().__init__(f"{url!r}: {expected}")
        self.expected = expected


def checked_feed_url(url: str) -> SplitResult:
    """``url`` split, or :class:`FeedUrlError` when no poll of it could ever work: not an
    absolute http(s) URL, a port outside 1–65535, text beside an IPv6 address's brackets
    (urlsplit drops it), a host with a character no host name has (a space, ``%``, ``<``;
    urlsplit silently drops a tab). The one check of a feed URL: config.toml's ``[[feeds]]``,
    ``feeds add`` and ``opml import`` all use it."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise FeedUrlError(url, f"{exc}, {HTTP_URL}") from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise FeedUrlError(url, HTTP_URL)
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:  # "port 0 is out of range" at every poll
        raise FeedUrlError(url, PORT)
    host = _written_host(url)
    if "[" in host or "]" in host:
        if not re.fullmatch(r"\[[^\[\]]*\]", host):
            raise FeedUrlError(url, BRACKETS)
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise FeedUrlError(url, f"{HOST} ({host!r})") from None
    else:
        bad = next((c for c in host if not _name_char(c)), None)
        if bad is not None:
            raise FeedUrlError(url, f"{HOST} ({host!r} has {bad!r})")
    return parts


def _written_host(url: str) -> str:
    """The host as written (urlsplit's ``hostname`` has dropped tabs and text beside an IPv6
    address's brackets): the authority's text after any user info, before any port."""
    authority = re.split(r"[/?#]", url.strip().partition("://")[2], maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if "]" in host:
        return host[: host.rindex("]") + 1] + host[host.rindex("]") + 1 :].partition(":")[0]
    return host.partition(":")[0]


def _name_char(char: str) -> bool:
    """A character of a host name: ASCII letters, digits, ``-``, ``.``, ``_``, or a letter,
    mark or digit of an international name (sent as IDNA)."""
    if char.isascii():
        return bool(_NAME_CHARS.fullmatch(char))
    return unicodedata.category(char)[0] in "LMN"


def canonical_feed_url(url: str) -> str:
    """Scheme and host in lower case, the default port dropped, an empty path made ``/``, the
    fragment dropped (never sent to the server). Path, query and user info are kept as written
    (a server may treat their case and order as significant). Raises :class:`FeedUrlError` (a
    ValueError) for what :func:`checked_feed_url` refuses."""
    parts = checked_feed_url(url)
    scheme = parts.scheme.lower()
    port = parts.port
    assert parts.hostname is not None  # (checked)
    host = parts.hostname.lower().rstrip(".")  # urlsplit lower-cases hostname; a root dot goes
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def feed_identity(url: str) -> str:
    """:func:`canonical_feed_url`, or ``url`` as written when it has none (a stored row that an
    earlier release let in: that feed's error when it is polled, not a reason to refuse the
    rest)."""
    try:
        return canonical_feed_url(url)
    except ValueError:
        return url


def same_feed(a: str, b: str) -> bool:
    try:
        return canonical_feed_url(a) == canonical_feed_url(b)
    except ValueError:
        return a.strip() == b.strip()
