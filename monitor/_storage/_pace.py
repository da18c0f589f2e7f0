"""What adaptive polling needs from SQLite: a feed's publishing rate, and the next poll the
decider chose (kept so that a restart honours it: the server's caching headers, the feed's
``<ttl>``)."""

from __future__ import annotations

from datetime import datetime

from .._models import FeedState
from .._times import iso, parse_iso
from ._base import StorageBase


class PaceMixin(StorageBase):
    def entry_frequency(self, feed: FeedState, since: datetime) -> int | None:
        """How many of the feed's items were published since ``since``; None when none of its
        items has a date (its rate is unknown). Index-only (``items_feed_published``)."""
        rows = self._read(
            "SELECT count(*) AS n, EXISTS (SELECT 1 FROM items WHERE feed_id = ? "
            "AND published IS NOT NULL) AS dated FROM items WHERE feed_id = ? AND published >= ?",
            (feed.id, feed.id, iso(since)),
        )
        return int(rows[0]["n"]) if rows[0]["dated"] else None

    def record_next_poll(self, feed: FeedState, next_poll: datetime) -> None:
        with self._write() as conn:
            conn.execute("UPDATE feeds SET next_poll = ? WHERE id = ?", (iso(next_poll), feed.id))

    def next_polls(self) -> dict[str, datetime]:
        """``{url: next poll}`` of the feeds polled adaptively since they were last changed."""
        rows = self._read("SELECT url, next_poll FROM feeds WHERE next_poll IS NOT NULL")
        return {row["url"]: moment for row in rows if (moment := parse_iso(row["next_poll"]))}
