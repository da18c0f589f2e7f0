"""PostgreSQL: the CLI's reports (hits, feeds, deliveries), items named by the user and
explicit feedback (twin of ``_queries`` and ``_managed``'s reads)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .._feedset import FeedRow
from ._pg_base import PostgresBase
from ._reports import ReportsMixin


class PgQueriesMixin(PostgresBase, ReportsMixin):
    """Judgements and feed reads on PostgreSQL (the CLI's reports are :class:`ReportsMixin`'s)."""

    def feed_rhythms(self, window: timedelta) -> dict[str, tuple[int, str | None, str | None]]:
        rows = self._read(
            "SELECT f.url, count(i.id) AS n, min(i.published) AS first, "
            "max(i.published) AS last FROM feeds f "
            "LEFT JOIN (SELECT feed_id, max(published) AS latest FROM items GROUP BY feed_id) m "
            "ON m.feed_id = f.id LEFT JOIN items i ON i.feed_id = f.id "
            "AND i.published >= m.latest - %s GROUP BY f.id",
            (window,),
        )
        return {r["url"]: (r["n"], r["first"], r["last"]) for r in rows}

    def add_feedback(self, topic: str, item: dict[str, Any], relevant: bool, now: datetime) -> int:
        with self._write() as conn:
            row = conn.execute(  # a replacement takes no sequence number (see SQLite's)
                "UPDATE feedback SET relevant = %s, judged_at = %s "
                "WHERE topic = %s AND item_id = %s RETURNING id",
                (int(relevant), now, topic, item["id"]),
            ).fetchone()
            if row is not None:
                return int(row["id"])
            row = conn.execute(
                "INSERT INTO feedback (topic, item_id, link, title, summary, relevant, judged_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (topic, item_id) DO UPDATE SET "
                "relevant = excluded.relevant, judged_at = excluded.judged_at RETURNING id",
                (topic, item["id"], item["link"], item["title"], item["summary"],
                 int(relevant), now),
            ).fetchone()  # fmt: skip
        assert row is not None
        return int(row["id"])

    def feed_rows(self) -> list[FeedRow]:
        return [
            FeedRow.from_row(r)
            for r in self._read(
                "SELECT url, name, source, paused, interval, category, html_url FROM feeds"
            )
        ]
