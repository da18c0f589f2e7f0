"""Which feeds are polled: the config's ``[[feeds]]`` and the feeds added from the CLI or OPML
(the ``feeds`` table, ``source = 'cli'``), minus the paused ones. Pure.

The config wins: a feed in both (in any spelling, see :mod:`monitor._urls`) is the config's.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._config import FeedConfig, _default_name
from ._durations import LONGEST
from ._urls import canonical_feed_url, feed_identity


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as stored, with the columns that say how it is managed."""

    url: str
    name: str
    source: str  # config | cli | removed
    paused: bool
    interval: float | None
    category: str | None = None
    html_url: str | None = None
    topics: tuple[str, ...] | None = None  # scored for these topics only; None: every topic

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FeedRow:
        topics = row.get("topics")  # a JSON list (SQLite schema 6); absent or NULL: all
        return cls(
            url=row["url"],
            name=row["name"],
            source=row["source"],
            paused=bool(row["paused"]),
            # (an earlier release stored any length: the longest a duration may be now)
            interval=None if row["interval"] is None else min(row["interval"], LONGEST),
            category=row["category"],
            html_url=row["html_url"],
            topics=None if topics is None else tuple(json.loads(topics)),
        )


def key(url: str) -> str:
    """The identity of a feed URL (:func:`monitor._urls.feed_identity`); an unparsable one is
    its own identity."""
    return feed_identity(url)


def active_feeds(
    config_feeds: Sequence[FeedConfig],
    rows: Iterable[FeedRow],
    default_interval: float,
    *,
    bounds: tuple[float, float] | None = None,
) -> list[FeedConfig]:
    """The feeds to poll, config feeds first (in config order), then added ones by name.
    An added feed with an interval of its own (``--interval``) is polled at it; the others
    at ``default_interval``, or adaptively within ``bounds`` ([monitor]'s) when given."""
    by_url = {row.url: row for row in rows}
    paused = {key(row.url) for row in by_url.values() if row.paused}
    feeds: list[FeedConfig] = []
    taken: set[str] = set()
    for feed in config_feeds:
        ident = key(feed.url)
        row = by_url.get(feed.url)
        taken.add(ident)
        if not ((row is not None and row.paused) or (row is None and ident in paused)):
            feeds.append(feed)
    added = sorted(
        (r for r in by_url.values() if r.source == "cli" and not r.paused),
        key=lambda r: (r.name.lower(), r.url),
    )
    for row in added:
        ident = key(row.url)
        if ident in taken:
            continue
        taken.add(ident)
        if row.interval:
            feeds.append(FeedConfig(row.url, row.name, row.interval, topics=row.topics))
        else:
            low, high = bounds or (None, None)
            feeds.append(FeedConfig(row.url, row.name, default_interval, low, high, row.topics))
    return feeds


def as_configured(
    config_feeds: Sequence[FeedConfig], rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``monitor feeds``' rows (``feeds_report(removed=True)``: every stored feed's) as the
    config has them now, as the next write would make them (``sync_feeds``), without writing:
    a configured feed is the config's (its URL and name; a removed row comes back with its
    state, a new feed is listed never polled), a row the config no longer lists is left out
    (removed), an added one stays. Sorted by name, as stored rows are."""
    rows = list(rows)
    exact = {row["url"]: row for row in rows}
    stored: dict[str, Mapping[str, Any]] = {}
    for row in rows:  # else a row in canonical spelling, else the oldest (as sync_feeds)
        ident = key(row["url"])
        if ident not in stored or (_canonical(row["url"]) and not _canonical(stored[ident]["url"])):
            stored[ident] = row
    out: list[dict[str, Any]] = []
    taken: set[int] = set()
    for feed in config_feeds:  # the row under the exact URL wins over another spelling of it
        found = exact.get(feed.url) or stored.get(key(feed.url))
        if found is None:
            out.append({**_NEVER_POLLED, "name": feed.name, "url": feed.url, "fetch_url": feed.url})
            continue
        taken.add(id(found))
        moved = found["fetch_url"] not in (None, found["url"])  # a permanent redirect: kept
        fetch_url = found["fetch_url"] if moved else feed.url
        config = {"url": feed.url, "fetch_url": fetch_url, "name": feed.name, "source": "config"}
        out.append({**found, **config})
    out += [dict(row) for row in rows if row["source"] == "cli" and id(row) not in taken]
    return sorted(out, key=lambda row: str(row["name"]))  # code points: UTF-8's byte order


_NEVER_POLLED: dict[str, Any] = {
    "last_status": None,
    "last_polled": None,
    "last_success": None,
    "error_count": 0,
    "retry_until": None,
    "items_seen": 0,
    "hits": 0,
    "last_error": None,
    "warning": None,
    "source": "config",
    "paused": False,
}


def named_as_configured(
    config_feeds: Sequence[FeedConfig], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Report rows naming a feed (``feed``: the name stored with it; ``feed_url``: its
    address, dropped here) under the name the config gives it now: the config is where a
    configured feed's name comes from, and its row follows only at the next write
    (``sync_feeds``). A feed the config does not list keeps its stored name."""
    names = {key(feed.url): feed.name for feed in config_feeds}
    for row in rows:
        row["feed"] = names.get(key(row.pop("feed_url")), row["feed"])
    return rows


@dataclass(frozen=True, slots=True)
class ConfigCopy:
    """An added feed that a config feed is, in another spelling: stored by a release that
    took the two spellings for two feeds (before ``127.1`` was ``127.0.0.1``, ``[0:0::1]``
    ``[::1]``…). The config's is polled, this one never (see :func:`active_feeds`)."""

    url: str
    name: str
    feed: FeedConfig  # the config's

    def note(self) -> str:
        """What the user is told (``monitor feeds``, the daemon's start)."""
        return (
            f"feed {self.name!r} ({self.url}) is the same feed as config feed "
            f"{self.feed.name!r} ({self.feed.url}), stored twice by an earlier release: it is "
            f"not polled; `monitor feeds remove {shlex.quote(self.url)}` clears it"
        )


def config_copies(
    config_feeds: Sequence[FeedConfig], added: Iterable[tuple[str, str]]
) -> list[ConfigCopy]:
    """The added feeds (``(url, name)`` of rows ``source = 'cli'``) that are a config feed
    under another stored URL."""
    configured = {key(feed.url): feed for feed in config_feeds}
    copies = []
    for url, name in added:
        feed = configured.get(key(url))
        if feed is not None and feed.url != url:
            copies.append(ConfigCopy(url, name, feed))
    return copies


def find(rows: Iterable[FeedRow], url: str) -> FeedRow | None:
    """The stored feed that ``url`` names, in any spelling; a live one before a removed one,
    then one stored as ``url`` is written before another spelling of it."""
    ident = key(url)
    matches = [row for row in rows if key(row.url) == ident]
    matches.sort(key=lambda row: (row.source == "removed", row.url != url))
    return matches[0] if matches else None


def _canonical(url: str) -> bool:
    """Whether ``url`` is stored in its canonical spelling (rows stored before URLs were
    canonicalised may not be)."""
    try:
        return canonical_feed_url(url) == url
    except ValueError:
        return False


def default_name(url: str) -> str:
    return _default_name(url)
