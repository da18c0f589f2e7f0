"""Feed bodies → :class:`ParsedFeed`. Pure: no I/O, no clock except to reject absurd dates.

feedparser is only ever given an in-memory stream (never a str/bytes it could take for a path or
URL), so it never opens a file or the network. It strips DOCTYPEs, keeps only internal entities
whose value is a plain string, and turns off external general entities in the SAX parser, so
external entities (XXE) are not resolved; ``tests/test_parse.py`` checks this with a DTD that
points at a local file.

Entries are normalised as documented on :class:`~monitor._models.Entry`. Field sizes are capped
before any text processing, and HTML is reduced to text with :mod:`html.parser` (no regexes).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.sax import SAXParseException

import feedparser

from ._errors import ParseError
from ._fastrss import parse_plain_rss
from ._models import Entry, ParsedFeed
from ._plaintext import MAX_SUMMARY, MAX_TITLE, item_text, plain_text
from ._times import EPOCH

__all__ = ["canonical_link", "parse_feed", "plain_text"]

MAX_LINK = 4_000
MAX_KEY = 1_000
MAX_WARNING = 200
# Dates before this, or more than this far in the future, are treated as absent.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)

# Bozo exceptions that mean "the HTTP charset and the XML disagree": feedparser copes, and so
# many healthy feeds trigger them that a warning would be noise (lemon24/reader does the same).
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)

# fmt: off
_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "ocid", "cmpid", "at_medium", "at_campaign", "_hsenc", "_hsmi",
    "mkt_tok", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
    "s_cid", "wt.mc_id", "wt_mc", "guccounter", "ref_src", "sr_share", "smid",
})
# fmt: on
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    now: datetime,
    fast: bool = True,
    max_items: int | None = None,
) -> ParsedFeed:
    """Parse one feed body fetched from ``url`` with response ``headers``.

    ``now`` is the caller's clock: dates more than two days after it are dropped (the
    parser reads no clock itself). At most
    ``max_items`` entries are kept, the newest (undated ones count as oldest, in feed order);
    ``ParsedFeed.skipped`` says how many were left out.

    Plain RSS 2.0 goes through :func:`~monitor._fastrss.parse_plain_rss` (same result,
    a fraction of the time) unless ``fast`` is false; everything else through feedparser.
    Raises :class:`ParseError` when nothing is recoverable (empty body, HTML page, garbage).
    A malformed feed that still yields entries gives ``ParsedFeed.warning``.
    """
    if not body.strip():
        raise ParseError("empty body")
    response_headers = {key.lower(): value for key, value in headers.items()}
    # Links are made absolute here, against Content-Location or the URL, and only the entry
    # link we keep: handing feedparser a base would have it resolve every href of the feed
    # (a third of its run time on a typical RSS feed). It still applies the feed's xml:base.
    base = url
    location = response_headers.pop("content-location", "").strip()
    if location:
        base = urljoin(url, location)

    try:
        feed_title, raw_entries, warning = _read(body, response_headers, fast)
    except (UnicodeError, ValueError, OverflowError):
        # feedparser encodes each character reference it decodes: one to a surrogate or
        # past U+10FFFF failed the whole feed. Such references become U+FFFD, then again.
        fixed = _BAD_REFERENCE.sub(_replace_reference, body)
        if fixed == body:
            raise
        feed_title, raw_entries, warning = _read(fixed, response_headers, fast)
    if warning is not None and raw_entries and _cut_short(body, len(raw_entries)):
        # a file served while being written: what was read of its last entry may lack its
        # GUID and text, and come back whole as another item
        raw_entries = raw_entries[:-1]
        warning += "; the body stops inside its last entry: left out"

    entries = tuple(
        entry for entry in (_entry(raw, base, now) for raw in raw_entries) if entry is not None
    )
    skipped = 0
    if max_items is not None and len(entries) > max_items:
        order = sorted(
            range(len(entries)), key=lambda i: entries[i].published or EPOCH, reverse=True
        )
        kept = sorted(order[:max_items])  # the newest, in the feed's own order
        skipped = len(entries) - max_items
        entries = tuple(entries[i] for i in kept)
    title = plain_text(feed_title, MAX_TITLE)
    return ParsedFeed(title=title, entries=entries, warning=warning, skipped=skipped)


def _read(
    body: bytes, response_headers: dict[str, str], fast: bool
) -> tuple[str, list[Any], str | None]:
    """The feed's title, its raw entries and the parser's warning (None: well formed)."""
    quick = parse_plain_rss(body, response_headers) if fast else None
    if quick is not None:
        return quick[0], list(quick[1]), None
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        resolve_relative_uris=False,  # content becomes plain text: links in it are dropped
        sanitize_html=True,  # drops <script>/<style> and their text before we strip tags
    )
    raw_entries = list(result.get("entries") or [])
    if not result.get("version") and not raw_entries:
        raise ParseError(_failure_reason(body, result))
    feed_title = str((result.get("feed") or {}).get("title") or "")
    return feed_title, raw_entries, _warning(result)


_ROOT_CLOSED = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*$")
_ENTRY_CLOSED = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _cut_short(body: bytes, entries: int) -> bool:
    """Whether a malformed body stops inside its last entry: it does not end with its root's
    closing tag and closes fewer entries than were read. (Not told for UTF-16 bodies.)"""
    if b"\x00" in body[:64] or _ROOT_CLOSED.search(body[-512:]):
        return False
    return len(_ENTRY_CLOSED.findall(body)) < entries


_BAD_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _replace_reference(match: re.Match[bytes]) -> bytes:
    hexadecimal, decimal = match.groups()
    value = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return b"&#xFFFD;"
    return match[0]


def canonical_link(url: str) -> str:
    """A canonical form of ``url`` for comparing links.

    Lower-cases scheme and host, drops the default port, the fragment, an empty query and the
    usual tracking parameters (``utm_*``, ``fbclid``, ``gclid``, …), and sorts what is left of
    the query. An empty path becomes ``/``. Strings that are not absolute URLs are returned
    stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def page_key(url: str) -> str:
    """:func:`canonical_link`, also blind to http against https, to a trailing slash and to
    the parameters by which a feed marks its own links (a value that names the feed:
    ``traffic_source=rss``, ``dcmp=rss-page``): what a user's copy of a link (from a
    browser, an alert, a chat) shares with the feed's. For finding an item, not for keys."""
    try:
        parts = urlsplit(canonical_link(url))
    except ValueError:  # not a URL after all ("http://[::1/x"): compared as written
        return canonical_link(url)
    if parts.scheme not in ("http", "https"):
        return canonical_link(url)
    path = parts.path.rstrip("/") or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not value.lower().startswith(("rss", "feed", "atom"))
    ]
    return urlunsplit(("https", parts.netloc, path, urlencode(query), ""))


def fingerprint(text: str) -> str:
    """sha1 of ``text`` normalised: NFKC, casefolded, punctuation removed ("U.S." → "us",
    "don't" → "dont"; dashes, symbols and controls become spaces), whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _sha1(" ".join(folded.translate(_FOLD).split()))


# -- internals ----------------------------------------------------------------------------


def _entry(raw: Mapping[str, Any], base: str, now: datetime) -> Entry | None:
    title, summary = item_text(str(raw.get("title") or ""), _raw_summary(raw))
    link = _link(raw, base)
    if not (title or summary or link):
        return None
    guid = " ".join(str(raw.get("id") or "").split())
    if guid:
        key = f"id:{guid}" if len(guid) <= MAX_KEY else f"id:sha1:{_sha1(guid)}"
    elif link:
        key = f"link:{canonical_link(link)}"
    else:
        key = f"hash:{_sha1(title + chr(10) + summary)}"
    if title or summary:
        # The story's whole text, not the title alone: a live page ("Europe live") keeps
        # its title while its story changes.
        print_ = fingerprint(f"{title}\n{summary}")
    else:  # a link-only entry: never let all of them look like the same story
        print_ = fingerprint(canonical_link(link))
    return Entry(
        key=key,
        title=title,
        summary=summary,
        link=link,
        published=_published(raw, now),
        fingerprint=print_,
    )


def _raw_summary(raw: Mapping[str, Any]) -> str:
    summary = raw.get("summary")
    if summary:
        return str(summary)[:MAX_SUMMARY]
    for content in raw.get("content") or ():
        value = content.get("value") if isinstance(content, Mapping) else None
        if value:
            return str(value)[:MAX_SUMMARY]
    return ""


def _link(raw: Mapping[str, Any], base: str) -> str:
    link = str(raw.get("link") or "").strip()[:MAX_LINK]
    if not link:
        return ""
    try:
        absolute = urljoin(base, link)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return ""
    return absolute if scheme in ("http", "https") else ""


def _published(raw: Mapping[str, Any], now: datetime) -> datetime | None:
    for name in ("published_parsed", "updated_parsed"):
        # ``in`` first: FeedParserDict.get("updated_parsed") falls back to published_parsed
        # with a DeprecationWarning.
        value = raw[name] if name in raw else None  # noqa: SIM401
        if isinstance(value, time.struct_time):
            try:
                when = datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            if EARLIEST <= when <= now + FUTURE_SLACK:
                return when
    return None


def _warning(result: Mapping[str, Any]) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None or isinstance(exc, _BENIGN):
        return None
    return _short(exc)


def _failure_reason(body: bytes, result: Mapping[str, Any]) -> str:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: an HTML page"
    exc = result.get("bozo_exception")
    if exc is not None and not isinstance(exc, _BENIGN):
        return f"not a feed: {_short(exc)}"
    return "not a feed: no RSS/Atom/RDF document found"


def _short(exc: object) -> str:
    if isinstance(exc, SAXParseException):  # str() would start with "<unknown>:2:0:"
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        text = f"XML error at {where}: {exc.getMessage()}"
    else:
        text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:MAX_WARNING]


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class _Fold(dict[int, str]):
    """``str.translate`` table for :func:`fingerprint`, filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if category in ("Pd", "Pc") or category[0] in "SZC":
            folded = " "
        elif category[0] == "P":
            folded = ""
        else:
            folded = char
        self[code] = folded
        return folded


_FOLD = _Fold()
