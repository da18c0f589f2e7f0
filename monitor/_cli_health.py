"""The ``health``, ``interval`` and ``next_poll`` columns of ``monitor feeds`` (see
:mod:`monitor._health` and adaptive polling in :mod:`monitor._decide`), and the added feeds
that are a config feed stored twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ._config import Config, FeedConfig
from ._durations import format_duration
from ._feedjobs import current_feeds
from ._feedset import config_copies
from ._health import feed_health
from ._storage import Store
from ._times import iso, parse_iso

RHYTHM_WINDOW = timedelta(days=90)  # a feed's rhythm: its items this long before its latest


def add_health(
    storage: Store | None, rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """``health`` (``storage`` None: no database yet, so no feed has items)."""
    rhythms = {} if storage is None else storage.feed_rhythms(RHYTHM_WINDOW)
    for row in rows:
        items, first, last = rhythms.get(row["url"], (0, None, None))
        row["health"] = feed_health(
            status=row["last_status"],
            error_count=row["error_count"],
            paused=bool(row.get("paused")),
            items=items,
            first=parse_iso(first),
            last=parse_iso(last),
            now=now,
        )
        removed_by = row.pop("removed_by", None)  # a config feed a worker's config dropped
        if removed_by:
            row["health"] = f"not polled: removed by worker {removed_by} (not in its config)"
    return rows


def mark_copies(config: Config, rows: list[dict[str, Any]]) -> list[str]:
    """An added feed that is a config feed stored twice (an earlier release's doing) is never
    polled: its ``health`` says so, and the notes returned say what clears it."""
    added = [(row["url"], row["name"]) for row in rows if row["source"] == "cli"]
    copies = {copy.url: copy for copy in config_copies(config.feeds, added)}
    for row in rows:
        copy = copies.get(row["url"]) if row["source"] == "cli" else None
        if copy is not None:
            row["health"] = f"not polled: the same feed as config feed {copy.feed.name!r}"
    return [copy.note() for copy in copies.values()]


def add_next_poll(
    config: Config, storage: Store | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``interval``: how often a feed is polled ("10m", or "5m–2h" when adaptive; None for a
    removed feed); ``next_poll``: when an adaptively polled feed's pace (``min_interval`` /
    ``max_interval``) has it polled next, None for a feed at a fixed interval or not yet
    polled (``storage`` None: no database yet)."""
    feeds = {feed.url: feed for feed in current_feeds(config, storage)}
    decided = {} if storage is None else storage.next_polls()
    for row in rows:
        feed = feeds.get(row["url"])
        row["interval"] = None if feed is None else _pace(feed)
        adaptive = feed is not None and feed.adaptive
        row["next_poll"] = iso(decided.get(row["url"])) if adaptive else None
    return rows


def _pace(feed: FeedConfig) -> str:
    if feed.min_interval is None or feed.max_interval is None:
        return format_duration(feed.interval)
    return f"{format_duration(feed.min_interval)}–{format_duration(feed.max_interval)}"
