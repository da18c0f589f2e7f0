"""OPML 2.0 subscription lists, read and written. Pure: bytes in, values out, and back.

Reads what Miniflux and FreshRSS export (and most readers): feed outlines carry ``xmlUrl``, a
``title`` and/or ``text``, often ``htmlUrl``; outlines without ``xmlUrl`` are categories and
may nest (a nested category is ``Parent/Child``). Parsing is safe: a document with a DOCTYPE
or an entity declaration is refused before ElementTree sees it (what defusedxml does with
``forbid_dtd``), so no billion-laughs expansion and no external entity is ever resolved.

What other readers have no attribute for is written in our own namespace (:data:`NS`): a
feed's polling interval (``monitor:interval="2h"``) and the topics it is scored for
(``monitor:topics``, a JSON list of names), so an export read back by ``opml import`` keeps
what ``feeds add --interval --topic`` said. Other readers ignore them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any, NoReturn
from xml.parsers import expat

from ._errors import MonitorError

MAX_OPML_BYTES = 16 * 2**20
NS = "urn:x-monitor:opml"  # our attributes' namespace (a name, never fetched)
ET.register_namespace("monitor", NS)


class OpmlError(MonitorError):
    """An OPML document that cannot be read (malformed, unsafe, not OPML)."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    html_url: str | None = None
    category: str | None = None  # "News" or "News/Europe" for nested categories
    interval: str | None = None  # monitor:interval as written ("2h"); None: the default
    topics: tuple[str, ...] | None = None  # monitor:topics; None: scored for every topic


@dataclass(frozen=True, slots=True)
class OpmlList:
    title: str | None
    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[str, ...] = ()  # outlines with an xmlUrl that are not RSS/Atom, and why


# FreshRSS also exports scraped pages ("HTML+XPath", "XML+XPath", "JSON+DotNotation")
FEED_TYPES = ("", "rss", "atom", "rdf")


def parse_opml(data: bytes) -> OpmlList:
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES // 2**20} MiB")
    _refuse_declarations(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"the root element is <{_local(root.tag)}>, not <opml>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("no <body>")
    head = next((child for child in root if _local(child.tag) == "head"), None)
    title = None
    if head is not None:
        node = next((c for c in head if _local(c.tag) == "title"), None)
        title = _clean(node.text) if node is not None else None
    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    _walk(body, (), feeds, skipped)
    return OpmlList(title, tuple(feeds), tuple(skipped))


def _walk(
    parent: ET.Element, path: tuple[str, ...], out: list[OpmlFeed], skipped: list[str]
) -> None:
    for node in parent:
        if _local(node.tag) != "outline":
            continue
        attrs = {_local(k): v for k, v in node.attrib.items() if not k.startswith(f"{{{NS}}}")}
        label = _clean(attrs.get("title")) or _clean(attrs.get("text"))
        url = _clean(attrs.get("xmlUrl"))
        kind = (attrs.get("type") or "").strip().lower()
        if url and kind not in FEED_TYPES:
            skipped.append(f"{url} (type {attrs['type']!r}, not an RSS/Atom feed)")
        elif url:
            try:
                topics = _topics(node.get(f"{{{NS}}}topics"))
            except ValueError:
                skipped.append(f"{url} (monitor:topics is not a non-empty JSON list of names)")
                continue
            out.append(
                OpmlFeed(
                    url=url,
                    title=label,
                    html_url=_clean(attrs.get("htmlUrl")),
                    category="/".join(path) or None,
                    interval=_clean(node.get(f"{{{NS}}}interval")),
                    topics=topics,
                )
            )
        else:  # a category (or a plain link outline): its children are in it
            _walk(node, (*path, label) if label else path, out, skipped)


def write_opml(feeds: Sequence[OpmlFeed], title: str, now: datetime) -> bytes:
    """OPML 2.0 as Miniflux writes it: one outline per category (in first-seen order),
    feeds without a category at the top level."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            for depth, part in enumerate(feed.category.split("/"), 1):
                name = "/".join(feed.category.split("/")[:depth])
                if name not in folders:
                    folders[name] = ET.SubElement(parent, "outline", text=part, title=part)
                parent = folders[name]
        attrs = {"type": "rss", "text": feed.title or feed.url, "title": feed.title or feed.url}
        attrs["xmlUrl"] = feed.url
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        if feed.interval is not None:
            attrs[f"{{{NS}}}interval"] = feed.interval
        if feed.topics is not None:
            attrs[f"{{{NS}}}topics"] = json.dumps(list(feed.topics), ensure_ascii=False)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root, space="  ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _refuse_declarations(data: bytes) -> None:
    parser = expat.ParserCreate()

    def refuse(what: str) -> NoReturn:
        raise OpmlError(f"refused: the document has {what} (never needed in OPML, and unsafe)")

    def doctype(*_: Any) -> None:
        refuse("a DOCTYPE")

    def entity(*_: Any) -> None:
        refuse("an entity declaration")

    def external(*_: Any) -> int:
        refuse("an external entity reference")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None


def _topics(value: str | None) -> tuple[str, ...] | None:
    """monitor:topics read back: the names, None when absent; ValueError when malformed."""
    if value is None:
        return None
    names = json.loads(value)
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(value)
    if not names:  # scored for no topic at all: never what a feed is added for
        raise ValueError(value)
    return tuple(dict.fromkeys(n.strip() for n in names))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None
