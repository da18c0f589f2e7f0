"""The identity of a feed URL. Pure.

``HTTP://Example.COM:80`` and ``http://example.com/`` are one feed: :func:`canonical_feed_url`
gives both the same text. Used when feeds are added from the CLI or imported from OPML, and to
find a feed that the user names in another spelling.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_feed_url(url: str) -> str:
    """Scheme and host in lower case, the default port dropped, an empty path made ``/``, the
    fragment dropped (never sent to the server). Path, query and user info are kept as written
    (a server may treat their case and order as significant). Raises :class:`ValueError` for
    anything but an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise ValueError(f"{url!r}: {exc}, expected an http(s) URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r}: expected an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number from 0 to 65535") from None
    host = parts.hostname.lower().rstrip(".")  # urlsplit lower-cases hostname; a root dot goes
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def feed_identity(url: str) -> str:
    """:func:`canonical_feed_url`, or ``url`` as written when it has none (an impossible port
    is that feed's error when it is polled, not a reason to refuse the rest)."""
    try:
        return canonical_feed_url(url)
    except ValueError:
        return url


def same_feed(a: str, b: str) -> bool:
    try:
        return canonical_feed_url(a) == canonical_feed_url(b)
    except ValueError:
        return a.strip() == b.strip()
