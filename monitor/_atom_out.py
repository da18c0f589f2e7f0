"""Hits as an Atom 1.0 feed (RFC 4287), so any feed reader can follow a topic. Pure.

Entry ids are ``urn:uuid:`` UUIDs derived from the hit id (stable: a reader never sees one hit
twice), the feed id from the database and topic. Feed-supplied text is written as text
(escaped), and characters XML 1.0 forbids (control characters a hostile feed may carry) are
removed, so the document always parses.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ._times import iso, parse_iso

ATOM = "http://www.w3.org/2005/Atom"
_NAMESPACE = uuid.UUID("6f1c5e0a-58a3-4a4e-9d0b-6d6f6e69746f")  # this project's, fixed
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def atom_id(text: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, text)}"


def hits_feed(
    hits: Sequence[Mapping[str, Any]],
    *,
    title: str,
    feed_key: str,
    now: datetime,
    self_url: str | None = None,
) -> bytes:
    """An Atom document of ``hits`` (rows of ``Storage.hits``: id, topic, score, title, link,
    feed, published, detected_at, matched), newest first as given."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", atom_id(f"feed:{feed_key}"))
    _text(root, "title", title)
    newest = max((str(h["detected_at"]) for h in hits), default=None)
    _text(root, "updated", newest or str(iso(now)))
    _text(root, "generator", "monitor")
    if self_url:
        ET.SubElement(root, f"{{{ATOM}}}link", rel="self", href=self_url)
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "monitor")
    for hit in hits:
        _entry(root, hit)
    ET.indent(root, space="  ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _entry(root: ET.Element, hit: Mapping[str, Any]) -> None:
    entry = ET.SubElement(root, f"{{{ATOM}}}entry")
    _text(entry, "id", atom_id(str(hit["id"])))
    _text(entry, "title", str(hit["title"]) or "(no title)")
    if hit.get("link"):
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=_clean(str(hit["link"])))
    _text(entry, "updated", str(hit["detected_at"]))
    published = parse_iso(hit.get("published"))
    if published is not None:
        _text(entry, "published", str(iso(published)))
    if hit.get("feed"):
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", str(hit["feed"]))
    ET.SubElement(entry, f"{{{ATOM}}}category", term=_clean(str(hit["topic"])))
    why = ", ".join(f"{feature} ({weight:+.2f})" for feature, weight in hit.get("matched") or [])
    summary = f"Score {float(hit['score']):.2f} for {hit['topic']}."
    if hit.get("summary"):
        summary = f"{hit['summary']}\n\n{summary}"
    if why:
        summary += f" Matched: {why}."
    _text(entry, "summary", summary)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    node.text = _clean(value)
    return node


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
