"""What adaptive polling needs from the database, on both backends: a feed's publishing rate,
and the next poll the decider chose (kept so that a restart honours it: the server's caching
headers, the feed's ``<ttl>``)."""

from __future__ import annotations

from datetime import datetime

from .._models import FeedState
from .._times import parse_iso
from ._dialect import SqlMixin


class PaceMixin(SqlMixin):
    def entry_frequency(self, feed: FeedState, since: datetime) -> int | None:
        """How many of the feed's items were published since ``since``; None when none of its
        items has a date (its rate is unknown). Index-only (``items_feed_published``)."""
        d = self.dialect
        rows = self._read(
            f"SELECT count(*) AS n, EXISTS (SELECT 1 FROM items WHERE feed_id = {d.p} "
            f"AND published IS NOT NULL) AS dated FROM items WHERE feed_id = {d.p} "
            f"AND published >= {d.p}",
            (feed.id, feed.id, d.time(since)),
        )
        return int(rows[0]["n"]) if rows[0]["dated"] else None

    def record_next_poll(self, feed: FeedState, next_poll: datetime) -> None:
        d = self.dialect
        self._execute(
            f"UPDATE feeds SET next_poll = {d.p} WHERE id = {d.p}", (d.time(next_poll), feed.id)
        )

    def next_polls(self) -> dict[str, datetime]:
        """``{url: next poll}`` of the feeds polled adaptively since they were last changed."""
        rows = self._read(f"SELECT url, next_poll FROM feeds WHERE {self.dialect.next_poll_set}")
        return {row["url"]: moment for row in rows if (moment := parse_iso(row["next_poll"]))}
