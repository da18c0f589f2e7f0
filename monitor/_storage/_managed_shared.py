"""Feeds added and removed from the CLI and OPML, on both backends (``source = 'cli'``);
pausing stays in each backend (PostgreSQL makes a resumed feed due at once)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from .._feedset import FeedRow
from ._dialect import SqlMixin


class SharedManagedFeedsMixin(SqlMixin):
    def add_feeds(self, feeds: Sequence[FeedRow], now: datetime) -> None:
        """Insert feeds added from the CLI or OPML (``source = 'cli'``) in one transaction; a
        feed removed earlier, or dropped from the config, (its row kept for its history)
        comes back with its state."""
        p = self.dialect.p
        with self._write() as conn:
            self._run_many(
                conn,
                "INSERT INTO feeds (url, fetch_url, name, source, paused, interval, category, "
                f"html_url, topics, added_at) VALUES ({p}, {p}, {p}, 'cli', 0, {p}, {p}, {p}, "
                f"{p}, {p}) ON CONFLICT (url) DO UPDATE SET source = 'cli', paused = 0, "
                "name = excluded.name, interval = excluded.interval, "
                "category = excluded.category, html_url = excluded.html_url, "
                "topics = excluded.topics, added_at = excluded.added_at "
                "WHERE feeds.source <> 'cli'",
                [
                    (
                        f.url,
                        f.url,
                        f.name,
                        f.interval,
                        f.category,
                        f.html_url,
                        None if f.topics is None else json.dumps(list(f.topics)),
                        self.dialect.time(now),
                    )
                    for f in feeds
                ],
            )

    def remove_feed(self, url: str) -> bool:
        """Forget an added feed. A feed with items keeps its row (``source = 'removed'``) so its
        hits keep their feed; one that never stored anything is deleted. Returns whether it
        was deleted outright."""
        p = self.dialect.p
        with self._write() as conn:
            has_items = self._rows(
                conn,
                "SELECT 1 AS one FROM items "
                f"WHERE feed_id = (SELECT id FROM feeds WHERE url = {p}) LIMIT 1",
                (url,),
            )
            if has_items:
                self._run(
                    conn, f"UPDATE feeds SET source = 'removed', paused = 0 WHERE url = {p}", (url,)
                )
                return False
            self._run(conn, f"DELETE FROM feeds WHERE url = {p}", (url,))
            return True
