"""The identity of a feed URL. Pure.

``HTTP://Example.COM:80`` and ``http://example.com/`` are one feed: :func:`canonical_feed_url`
gives both the same text, the one stored (and polled, and hashed into hit ids). Two canonical
texts may still be one address: ``[::1]`` and ``[0:0::1]``, ``127.1`` and ``127.0.0.1``,
``bücher.example`` and ``xn--bcher-kva.example``; :func:`feed_identity` is what feeds are
compared by. Used when feeds are read from config.toml, added from the CLI or imported from
OPML, and to find a feed that the user names in another spelling.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit, urlunsplit

import idna

DEFAULT_PORTS = {"http": 80, "https": 443}
HTTP_URL = "expected an http(s) URL"
PORT = f"{HTTP_URL} whose port is a number from 1 to 65535"
BRACKETS = f"{HTTP_URL} with nothing but a :port after its IPv6 address in brackets"
HOST = f"{HTTP_URL} whose host is a host name or an IP address"
IPV6 = f"{HTTP_URL} whose brackets hold an IPv6 address"
_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]")  # a DNS name's (and intranets' underscore)
# httpx (the poll, ``_fetch``) takes a host of four dotted numbers for an IPv4 address and
# refuses it ("Invalid IPv4 address") unless it is one; 127.1, 0x7f.0.0.1 and 2130706433 it
# leaves to the resolver, which reads them as addresses (:func:`_resolver_ipv4`)
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
# a number as inet_aton reads it (C's strtoul, base 0): hex after 0x, octal after 0, else decimal
_INET_NUMBER = re.compile(r"0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*")


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
    except ValueError:  # urlsplit's own bracket checks: a reason of ours, not its text
        if re.match(r"(?i)https?://", url.strip()):
            _check_brackets(url, _written_host(url))
        raise FeedUrlError(url, HTTP_URL) from None
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
        _check_brackets(url, host)
    else:
        bad = next((c for c in host if not _name_char(c)), None)
        if bad is not None:
            raise FeedUrlError(url, f"{HOST} ({host!r} has {bad!r})")
        _check_name(url, parts.hostname.rstrip("."))  # as polled: a root dot goes
    return parts


def _check_brackets(url: str, host: str) -> None:
    """An IPv6 address in brackets and nothing else, or :class:`FeedUrlError`."""
    if host.startswith("[") and "]" not in host:
        raise FeedUrlError(url, f"{IPV6} (its '[' is never closed)")
    if not re.fullmatch(r"\[[^\[\]]*\]", host):
        raise FeedUrlError(url, BRACKETS)
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        raise FeedUrlError(url, f"{IPV6} ({host[1:-1]!r} is not one)") from None


def _check_name(url: str, name: str) -> None:
    """A host name or IPv4 address that a poll can use (``name`` in lower case, without its
    root dot), or :class:`FeedUrlError`: what httpx refuses at every poll, and an empty
    label, which no resolver finds."""
    if "" in name.split("."):
        shown = name or "."
        raise FeedUrlError(url, f"{HOST} ({shown!r} has an empty label: a dot first or twice)")
    if _IPV4_STYLE.fullmatch(name):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise FeedUrlError(
                url, f"{HOST} ({name!r} is no IPv4 address: four numbers 0-255, no leading 0)"
            ) from None
    if not name.isascii():
        try:
            _a_label(name)
        except idna.IDNAError:
            raise FeedUrlError(url, f"{HOST} ({name!r} is not a name IDNA 2008 allows)") from None


def _a_label(name: str) -> str:
    """An international name as sent (IDNA 2008, as httpx encodes it at every poll)."""
    return idna.encode(name).decode("ascii")


def _written_host(url: str) -> str:
    """The host as written (urlsplit's ``hostname`` has dropped tabs and text beside an IPv6
    address's brackets): the authority's text after any user info, before any port."""
    authority = re.split(r"[/?#]", url.strip().partition("://")[2], maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("[") and "]" not in host:  # never closed: all of it
        return host
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
    assert parts.hostname is not None  # (checked)
    host = parts.hostname.lower().rstrip(".")  # urlsplit lower-cases hostname; a root dot goes
    return _with_host(parts, host)


def _with_host(parts: SplitResult, host: str) -> str:
    scheme = parts.scheme.lower()
    port = parts.port
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@functools.lru_cache(maxsize=1 << 16)  # the daemon compares every feed every 5 s
def feed_identity(url: str) -> str:
    """What feeds are compared by: :func:`canonical_feed_url` with the host in one form for
    each address, an IPv6 address compressed (``[0:0::1]`` is ``[::1]``), an IPv4 address in
    four decimal numbers as the resolver reads it (``127.1``, ``0x7f.0.0.1`` and
    ``2130706433`` are ``127.0.0.1``: the poll reaches that address) and an international
    name in IDNA (``bücher.example`` is ``xn--bcher-kva.example``). IDNA rather than Unicode:
    it is the name the poll resolves and sends, one text per name, where the Unicode one has
    several (decomposed accents, full-width letters). Only compared, never stored: a feed's
    row, its polls and its hits' ids keep the canonical text its config or `feeds add` gave.
    ``url`` as written (stripped) when it has no canonical form (a stored row that an earlier
    release let in: that feed's error when it is polled, not a reason to refuse the rest)."""
    try:
        canonical = canonical_feed_url(url)
    except ValueError:
        return url.strip()
    parts = urlsplit(canonical)
    host = parts.hostname or ""
    if ":" in host:
        return _with_host(parts, ipaddress.IPv6Address(host).compressed)
    if not host.isascii():
        return _with_host(parts, _a_label(host))
    address = _resolver_ipv4(host)
    if address is not None and address != host:
        return _with_host(parts, address)
    return canonical


def _resolver_ipv4(host: str) -> str | None:
    """The IPv4 address the resolver reads ``host`` as (a lower-case host without a root dot),
    in four decimal numbers; None for a name. getaddrinfo reads a numeric host as inet_aton
    does (glibc, musl, the BSDs): one to four dot-separated numbers, each decimal, octal
    after a ``0`` or hex after ``0x``; all but the last one byte each, the last filling the
    bytes left (``127.1``: 127.0.0.1, ``10.258``: 10.0.1.2, ``2130706433``: 127.0.0.1)."""
    numbers = host.split(".")
    if len(numbers) > 4 or not all(_INET_NUMBER.fullmatch(n) for n in numbers):
        return None
    *head, last = (_inet_number(n) for n in numbers)
    if any(n > 0xFF for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for shift, number in enumerate(head):
        value |= number << (24 - 8 * shift)
    return str(ipaddress.IPv4Address(value))


def _inet_number(text: str) -> int:
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 8) if text.startswith("0") else int(text)


def same_feed(a: str, b: str) -> bool:
    return feed_identity(a) == feed_identity(b)
