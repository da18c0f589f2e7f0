"""PostgreSQL: the CLI's reports (hits, feeds, deliveries), items named by the user and
explicit feedback (twin of ``_queries`` and ``_managed``'s reads)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .._feedset import FeedRow
from ._pg_base import PostgresBase


class PgQueriesMixin(PostgresBase):
    def hits(
        self, *, since: datetime | None = None, topic: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        where, params = ["true"], list[Any]()
        if since is not None:
            where.append("h.detected_at >= %s")
            params.append(since)
        if topic is not None:
            where.append("h.topic = %s")
            params.append(topic)
        sql = (
            "SELECT h.id, h.topic, h.score, coalesce(h.title, i.title) AS title, "
            "coalesce(h.link, i.link) AS link, f.name AS feed, i.published, "
            "h.detected_at, h.story_id, h.alerted, h.matched, "
            "(SELECT string_agg(d.channel || ':' || d.status, ' ' ORDER BY d.channel) "
            " FROM deliveries d WHERE d.hit_id = h.id) AS deliveries "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} ORDER BY h.detected_at DESC, h.seq DESC"
        )
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        rows = self._read(sql, params)
        for row in rows:
            row["matched"] = json.loads(row["matched"])
            row["alerted"] = bool(row["alerted"])
        return rows

    def feeds_report(self) -> list[dict[str, Any]]:
        return self._read(
            "SELECT name, url, fetch_url, last_status, last_polled, last_success, error_count, "
            "retry_until, items_seen, hits, last_error, warning, source, paused FROM feeds "
            "WHERE source <> 'removed' ORDER BY name COLLATE \"C\""
        )

    def deliveries_report(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT d.id, d.hit_id, d.channel, d.status, d.attempts, d.next_attempt, "
            "d.last_attempt, d.delivered_at, d.last_error, i.title FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id"
        )
        params: list[Any] = []
        if status:
            sql += " WHERE d.status = %s"
            params.append(status)
        return self._read(sql + " ORDER BY d.id DESC", params)

    def feed_rhythms(self, since: datetime) -> dict[str, tuple[int, str | None, str | None]]:
        rows = self._read(
            "SELECT f.url, count(i.id) AS n, min(i.published) AS first, "
            "max(i.published) AS last FROM feeds f LEFT JOIN items i ON i.feed_id = f.id "
            "AND i.published >= %s GROUP BY f.id",
            (since,),
        )
        return {r["url"]: (r["n"], r["first"], r["last"]) for r in rows}

    def find_item(self, ident: str) -> dict[str, Any] | None:
        """The item a user names by hit id, item id or link, with the hit's topic if any."""
        if ident.startswith("hit_"):
            sql = (
                "SELECT i.id, i.title, i.summary, i.link, h.topic FROM hits h "
                "JOIN items i ON i.id = h.item_id WHERE h.id = %s"
            )
        elif ident.isdigit():
            sql = "SELECT id, title, summary, link, topic FROM items WHERE id = %s::bigint"
        else:
            sql = (
                "SELECT id, title, summary, link, topic FROM items WHERE link = %s "
                "ORDER BY first_seen DESC LIMIT 1"
            )
        rows = self._read(sql, (ident,))
        return rows[0] if rows else None

    def add_feedback(self, topic: str, item: dict[str, Any], relevant: bool, now: datetime) -> int:
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO feedback (topic, item_id, link, title, summary, relevant, judged_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (topic, item_id) DO UPDATE SET "
                "relevant = excluded.relevant, judged_at = excluded.judged_at RETURNING id",
                (topic, item["id"], item["link"], item["title"], item["summary"],
                 int(relevant), now),
            ).fetchone()  # fmt: skip
        assert row is not None
        return int(row["id"])

    def remove_feedback(self, ident: str, topic: str | None = None) -> int:
        number = ident.removeprefix("fb_")
        params: list[Any]
        if ident.startswith("fb_") and number.isdigit():
            sql, params = "DELETE FROM feedback WHERE id = %s", [int(number)]
        else:
            item = self.find_item(ident)
            if item is None:
                return 0
            sql, params = "DELETE FROM feedback WHERE item_id = %s", [item["id"]]
        if topic is not None:
            sql += " AND topic = %s"
            params.append(topic)
        with self._write() as conn:
            return conn.execute(sql.encode(), params).rowcount

    def item_hits(self, item_id: int) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT id, topic, score, matched, detected_at, story_id, alerted FROM hits "
            'WHERE item_id = %s ORDER BY topic COLLATE "C"',
            (item_id,),
        )
        for row in rows:
            row["matched"] = json.loads(row["matched"])
        return rows

    def recent_items(self, limit: int) -> list[dict[str, Any]]:
        return self._read(
            "SELECT * FROM (SELECT i.id, i.feed_id, i.title, i.summary, i.link, i.first_seen, "
            "f.name AS feed FROM items i JOIN feeds f ON f.id = i.feed_id "
            "WHERE i.duplicate_of IS NULL ORDER BY i.first_seen DESC, i.id DESC LIMIT %s) r "
            "ORDER BY first_seen, id",
            (limit,),
        )

    def feedback(self, topic: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, topic, relevant, judged_at, item_id, link, title, summary FROM feedback"
        params: tuple[str, ...] = ()
        if topic is not None:
            sql += " WHERE topic = %s"
            params = (topic,)
        rows = self._read(sql + " ORDER BY id", params)
        for row in rows:
            row["relevant"] = bool(row["relevant"])
        return rows

    def feed_rows(self) -> list[FeedRow]:
        return [
            FeedRow.from_row(r)
            for r in self._read(
                "SELECT url, name, source, paused, interval, category, html_url FROM feeds"
            )
        ]
