"""A fast path in front of feedparser for the commonest feed: plain RSS 2.0.

feedparser sends every element of a feed through several layers of Python dispatch (SAX,
namespace mapping, a context stack, URL joining), most of it for fields this project never
reads. Most news feeds are plain RSS 2.0 whose items carry a title, a link, a guid, a
description and a date. For those, :func:`parse_plain_rss` reads the same UTF-8 document
with pyexpat directly and applies to each field the steps feedparser's strict parser
applies, through feedparser's own helpers (encoding detection, HTML sanitiser, date parser,
cp1252 table), so the raw entries it returns are the ones feedparser would have returned
for the fields :mod:`monitor._parse` reads.

Anything outside that subset returns ``None`` and the caller parses with feedparser, the
reference: another format (Atom, RDF), a DOCTYPE or entity declaration, ``xml:base``, an
encoding feedparser cannot settle, malformed XML, an element feedparser would map onto a
field we read (``dc:date``, ``media:title``, ``itunes:summary``, …), attributes on those
fields, a repeated field, an oversized author (feedparser's slow e-mail regex stays behind
the worker's timeout), or a content:encoded that would stand in for the description.
``tests/test_fastrss.py`` checks identical results on feedparser's own test corpus and on
the project's feeds.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

__all__ = ["AVAILABLE", "parse_plain_rss"]

try:  # feedparser's own steps; without them (another major version) there is no fast path
    from feedparser.datetimes import _parse_date
    from feedparser.encodings import convert_to_utf8
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _sanitize_html

    _looks_like_html = _FeedParserMixin.looks_like_html
    AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the installed feedparser
    AVAILABLE = False

_XML_BASE = "http://www.w3.org/XML/1998/namespace base"
_DC = "http://purl.org/dc/elements/1.1/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_MEDIA = frozenset({"http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss"})
# An item's children: the fields we read, and those that map onto no field we read.
_FIELDS = frozenset({"title", "link", "description", "guid", "pubdate"})
_IGNORED = frozenset({"category", "comments", "enclosure", "author", "source"})
_AUTHORS = frozenset({"author", _DC + " creator"})
_MEDIA_IGNORED = frozenset({"content", "thumbnail"})
_MAX_AUTHOR = 1_000
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")


class _Decline(Exception):
    """The document is outside the subset: let feedparser parse it."""


def parse_plain_rss(
    body: bytes, headers: Mapping[str, str]
) -> tuple[str, list[dict[str, Any]]] | None:
    """``(channel title, raw entries)`` as feedparser would give them, or ``None``.

    ``headers`` are the response headers with lower-case names. Each raw entry holds the keys
    feedparser would set among ``title``, ``summary``, ``link``, ``id``, ``published_parsed``.

    Any unexpected error is a decline too: the fast path leans on private feedparser names,
    and if a new feedparser changes one's shape, feedparser itself (the reference) parses.
    """
    try:
        return _parse(body, headers)
    except Exception:  # a changed private name, or a bug here: never the feed's failure
        return None


def _parse(body: bytes, headers: Mapping[str, str]) -> tuple[str, list[dict[str, Any]]] | None:
    if not AVAILABLE or b"<rss" not in body[:4096].lower():
        return None  # Atom, RDF, UTF-16, …: feedparser's, without converting the body twice
    result: dict[str, Any] = {"bozo": False}
    data = convert_to_utf8(dict(headers), body, result)  # checked after: UTF-16, UTF-32, …
    if not result.get("encoding") or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None
    reader = _Reader()
    parser = expat.ParserCreate("utf-8", " ")
    parser.buffer_text = True
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(data, True)
    except (_Decline, expat.ExpatError):
        return None
    if not reader.rss:
        return None
    return reader.title, reader.entries


def _fix(value: str) -> str:
    """The last steps of feedparser's ``pop``: undo UTF-8 read as Latin-1, map cp1252."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)


class _Reader:
    """pyexpat handlers; the path is ``rss/channel/item/field``."""

    def __init__(self) -> None:
        self.rss = False
        self.title = ""
        self.entries: list[dict[str, Any]] = []
        self._depth = 0
        self._in_channel = False
        self._titled = False
        self._item: dict[str, Any] | None = None
        self._seen: set[str] = set()
        self._guid_is_link = False
        self._field: str | None = None  # what the text being collected is for
        self._pieces: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self._field is not None or _XML_BASE in attrs:
            raise _Decline  # markup inside a field, or a base for relative links
        depth = self._depth = self._depth + 1
        uri, _, local = name.rpartition(" ")
        local = local.lower()
        if local == "entry" or (local == "item" and (depth != 3 or not self._in_channel)):
            raise _Decline  # feedparser takes these for entries wherever they are
        if depth == 1:
            if uri or local != "rss":
                raise _Decline
            self.rss = True
        elif depth == 2:
            if local == "channel":
                if uri or self._titled or self.entries:
                    raise _Decline  # a second channel
                self._in_channel = True
        elif depth == 3 and self._in_channel:
            if local == "title":
                if uri or attrs or self._titled:
                    raise _Decline
                self._titled = True
                self._collect("channel-title")
            elif local == "item":
                if uri or attrs:
                    raise _Decline
                self._item = {}
                self._seen = set()
                self._guid_is_link = False
        elif depth == 4 and self._item is not None:
            self._item_child(uri, local, attrs)
        elif self._item is not None:
            raise _Decline  # nested inside an item's child: media:group, …
        elif local == "title" and (uri or depth == 3):
            raise _Decline  # dc:title and the like could name the channel

    def _item_child(self, uri: str, local: str, attrs: dict[str, str]) -> None:
        key = f"{uri} {local}" if uri else local
        if not uri and local in _FIELDS:
            if key in self._seen:
                raise _Decline  # feedparser's precedence rules for repeats are not ours to copy
            self._seen.add(key)
            if local == "guid":
                lowered = {name.lower(): value for name, value in attrs.items()}
                if set(lowered) - {"ispermalink"}:
                    raise _Decline
                self._guid_is_link = lowered.get("ispermalink", "true") == "true"
            elif attrs:
                raise _Decline
            self._collect(local)
        elif key in _AUTHORS:
            self._collect("author")
        elif (local in _IGNORED and not uri) or (local in _MEDIA_IGNORED and uri in _MEDIA):
            pass
        elif uri == _CONTENT and local == "encoded":
            if not self._item_or_decline().get("summary"):
                raise _Decline  # it would stand in for a missing or empty description
        else:
            raise _Decline

    def _item_or_decline(self) -> dict[str, Any]:
        if self._item is None:
            raise _Decline
        return self._item

    def _collect(self, field: str) -> None:
        self._field = field
        self._pieces = []

    def text(self, data: str) -> None:
        if self._field is not None:
            self._pieces.append(data)

    def end(self, name: str) -> None:
        depth = self._depth
        self._depth -= 1
        field = self._field
        if field is not None:
            self._field = None
            self._finish(field, "".join(self._pieces).strip())
        elif depth == 3 and self._item is not None:
            item = self._item
            if "link" not in item and self._guid_is_link and "id" in item:
                item["link"] = item["id"]
            self.entries.append(item)
            self._item = None
        elif depth == 2:
            self._in_channel = False

    def _finish(self, field: str, value: str) -> None:
        if field in ("channel-title", "title"):
            if _looks_like_html(value):
                value = _sanitize_html(value, "utf-8", "text/html")
            if field == "channel-title":
                self.title = _fix(value)
                return
        if field == "author":
            if len(value) > _MAX_AUTHOR:
                raise _Decline  # feedparser's e-mail regex is slow here: its worker times out
            return
        item = self._item_or_decline()
        if field == "title":
            item["title"] = _fix(value)
        elif field == "description":
            item["summary"] = _fix(_sanitize_html(value, "utf-8", "text/html"))
        elif field == "link":
            item["link"] = _LINK_REF.sub(r"&\g<1>", _fix(value).replace("&amp;", "&"))
        elif field == "guid":
            item["id"] = _fix(value)
        else:  # pubDate
            item["published_parsed"] = _parse_date(_fix(value))
