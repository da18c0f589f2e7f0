"""What the CLI asks: hits, feeds and deliveries reports; explicit feedback."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import StorageError
from .._times import iso
from ._base import StorageBase, reason


class QueriesMixin(StorageBase):
    def find_item(self, ident: str) -> dict[str, Any] | None:
        """The item a user names by hit id, item id or link, with the hit's topic if any."""
        if ident.startswith("hit_"):
            sql = (
                "SELECT i.id, i.title, i.summary, i.link, h.topic FROM hits h "
                "JOIN items i ON i.id = h.item_id WHERE h.id = ?"
            )
        elif ident.isdigit():
            sql = "SELECT id, title, summary, link, topic FROM items WHERE id = ?"
        else:
            sql = (
                "SELECT id, title, summary, link, topic FROM items WHERE link = ? "
                "ORDER BY first_seen DESC LIMIT 1"
            )
        rows = self._read(sql, (ident,))
        return rows[0] if rows else None

    def add_feedback(self, topic: str, item: dict[str, Any], relevant: bool, now: datetime) -> int:
        """Record (or replace) the judgement of ``item`` for ``topic``; return its id."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO feedback (topic, item_id, link, title, summary, relevant, judged_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (topic, item_id) DO UPDATE SET "
                "relevant = excluded.relevant, judged_at = excluded.judged_at",
                (
                    topic,
                    item["id"],
                    item["link"],
                    item["title"],
                    item["summary"],
                    int(relevant),
                    iso(now),
                ),
            )
            row = conn.execute(
                "SELECT id FROM feedback WHERE topic = ? AND item_id = ?", (topic, item["id"])
            ).fetchone()
        return int(row[0])

    def feedback(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Judgements, oldest first (optionally of one topic)."""
        sql = "SELECT id, topic, relevant, judged_at, item_id, link, title, summary FROM feedback"
        params: tuple[str, ...] = ()
        if topic is not None:
            sql += " WHERE topic = ?"
            params = (topic,)
        rows = self._read(sql + " ORDER BY id", params)
        for row in rows:
            row["relevant"] = bool(row["relevant"])
        return rows

    def remove_feedback(self, ident: str, topic: str | None = None) -> int:
        """Delete judgements by feedback id (``fb_N``, as ``--list`` shows it), or of the item
        a hit id / item id / link names (the same ids as judging takes)."""
        number = ident.removeprefix("fb_")
        params: list[Any]
        if ident.startswith("fb_") and number.isdigit():
            sql, params = "DELETE FROM feedback WHERE id = ?", [int(number)]
        else:
            item = self.find_item(ident)
            if item is None:
                return 0
            sql, params = "DELETE FROM feedback WHERE item_id = ?", [item["id"]]
        with self._write() as conn:
            if topic is not None:
                sql += " AND topic = ?"
                params.append(topic)
            return conn.execute(sql, params).rowcount

    # -- queries for the CLI ----------------------------------------------------------------

    def hits(
        self, *, since: datetime | None = None, topic: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        where, params = ["1"], []
        if since is not None:
            where.append("h.detected_at >= ?")
            params.append(iso(since))
        if topic is not None:
            where.append("h.topic = ?")
            params.append(topic)
        sql = (
            "SELECT h.id, h.topic, h.score, coalesce(h.title, i.title) AS title, "
            "coalesce(h.link, i.link) AS link, f.name AS feed, i.published, "
            "h.detected_at, h.story_id, h.alerted, h.matched, "
            "(SELECT group_concat(d.channel || ':' || d.status, ' ') FROM deliveries d "
            " WHERE d.hit_id = h.id) AS deliveries "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} ORDER BY h.detected_at DESC, h.rowid DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(str(limit))
        rows = self._read(sql, params)
        for row in rows:
            row["matched"] = json.loads(row["matched"])
            row["alerted"] = bool(row["alerted"])
        return rows

    def item_hits(self, item_id: int) -> list[dict[str, Any]]:
        """The hits stored for one item (one per topic it hit), for ``monitor explain``."""
        rows = self._read(
            "SELECT id, topic, score, matched, detected_at, story_id, alerted FROM hits "
            "WHERE item_id = ? ORDER BY topic",
            (item_id,),
        )
        for row in rows:
            row["matched"] = json.loads(row["matched"])
        return rows

    def recent_items(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` items first seen (oldest first, as they arrived), with their
        feed: the stream ``monitor topic check`` replays."""
        return self._read(
            "SELECT * FROM (SELECT i.id, i.feed_id, i.title, i.summary, i.link, i.first_seen, "
            "f.name AS feed FROM items i JOIN feeds f ON f.id = i.feed_id "
            "WHERE i.duplicate_of IS NULL ORDER BY i.first_seen DESC, i.id DESC LIMIT ?) "
            "ORDER BY first_seen, id",
            (limit,),
        )

    def feeds_report(self) -> list[dict[str, Any]]:
        return self._read(
            "SELECT name, url, fetch_url, last_status, last_polled, last_success, error_count, "
            "retry_until, items_seen, hits, last_error, warning, source, paused FROM feeds "
            "WHERE source <> 'removed' ORDER BY name"
        )

    def deliveries_report(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT d.id, d.hit_id, d.channel, d.status, d.attempts, d.next_attempt, "
            "d.last_attempt, d.delivered_at, d.last_error, i.title FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id"
        )
        params: list[Any] = []
        if status:
            sql += " WHERE d.status = ?"
            params.append(status)
        return self._read(sql + " ORDER BY d.id DESC", params)


def read_feedback(path: Path) -> list[dict[str, Any]]:
    """The judgements in the database at ``path``, read-only (for ``monitor classify``/``eval``,
    which must not write); no file or an older schema means no judgements."""
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
                return []
            rows = conn.execute(
                "SELECT topic, title, summary, relevant FROM feedback ORDER BY id"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot read the feedback: {reason(exc)}") from None
    return [
        {"topic": topic, "title": title, "summary": summary, "relevant": bool(relevant)}
        for topic, title, summary, relevant in rows
    ]
