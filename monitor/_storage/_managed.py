"""Feeds managed from the CLI and OPML: add, remove, pause, resume (schema version 4)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from .._feedset import FeedRow
from .._times import iso
from ._base import StorageBase

_COLUMNS = "url, name, source, paused, interval, category, html_url, topics"


class ManagedFeedsMixin(StorageBase):
    def feed_rows(self) -> list[FeedRow]:
        return [FeedRow.from_row(r) for r in self._read(f"SELECT {_COLUMNS} FROM feeds")]

    def add_feeds(self, feeds: Sequence[FeedRow], now: datetime) -> None:
        """Insert feeds added from the CLI or OPML (``source = 'cli'``) in one transaction; a
        feed removed earlier, or dropped from the config, (its row kept for its history)
        comes back with its state."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO feeds (url, fetch_url, name, source, paused, interval, category, "
                "html_url, topics, added_at) VALUES (?, ?, ?, 'cli', 0, ?, ?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET source = 'cli', paused = 0, "
                "name = excluded.name, interval = excluded.interval, "
                "category = excluded.category, html_url = excluded.html_url, "
                "topics = excluded.topics, added_at = excluded.added_at WHERE source <> 'cli'",
                [
                    (
                        f.url,
                        f.url,
                        f.name,
                        f.interval,
                        f.category,
                        f.html_url,
                        None if f.topics is None else json.dumps(list(f.topics)),
                        iso(now),
                    )
                    for f in feeds
                ],
            )

    def remove_feed(self, url: str) -> bool:
        """Forget an added feed. A feed with items keeps its row (``source = 'removed'``) so its
        hits keep their feed; one that never stored anything is deleted. Returns whether it
        was deleted outright."""
        with self._write() as conn:
            has_items = conn.execute(
                "SELECT 1 FROM items WHERE feed_id = (SELECT id FROM feeds WHERE url = ?) LIMIT 1",
                (url,),
            ).fetchone()
            if has_items:
                conn.execute(
                    "UPDATE feeds SET source = 'removed', paused = 0 WHERE url = ?", (url,)
                )
                return False
            conn.execute("DELETE FROM feeds WHERE url = ?", (url,))
            return True

    def set_paused(self, url: str, paused: bool) -> None:
        """Pause a feed, or resume it afresh: from its configured address, with a 410 (gone),
        a permanent redirect, the error backoff and the validators forgotten (the next
        request is unconditional; how a user retries them)."""
        with self._write() as conn:
            if paused:
                conn.execute("UPDATE feeds SET paused = 1 WHERE url = ?", (url,))
                return
            conn.execute(
                "UPDATE feeds SET paused = 0, fetch_url = url, error_count = 0, "
                "retry_until = NULL, etag = NULL, last_modified = NULL, body_hash = NULL, "
                "last_status = CASE WHEN last_status = 'gone' THEN 'error' "
                "ELSE last_status END WHERE url = ?",
                (url,),
            )
