"""Retention on both backends (``[monitor] keep_items``, ``keep_hits``): expired rows deleted a
batch at a time, each batch one transaction; on PostgreSQL the workers take turns (one
advisory lock), and what one deleted the next finds gone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .._times import iso
from ._dialect import SqlMixin

EXPIRED_KEYS_KEPT = timedelta(days=365)  # an expired item's key keeps it out this long
# Each feed's latest items stay, however old: they are its rhythm (feed health), so a dead
# feed stays "silent" instead of turning "ok" when retention deletes what it last published.
KEEP_LATEST = 3


class RetentionMixin(SqlMixin):
    def expire(
        self,
        *,
        items_before: datetime | None,
        hits_before: datetime | None = None,
        limit: int = 5000,
        keep_latest: int = KEEP_LATEST,
    ) -> tuple[int, int]:
        """Delete one batch (at most ``limit`` of each) of expired rows in one transaction;
        return ``(items, hits)`` deleted. Call again until it returns ``(0, 0)``.

        Hits detected before ``hits_before`` go with their alerts, unless an alert is still
        pending; their items keep the topics they were hits for (``items.expired_hits``: an
        edit of the item judged again does not alert them again). Items first seen before
        ``items_before`` go unless they are hits (kept as long as their hits) or among their
        feed's ``keep_latest``; the keys their date cannot keep out are kept
        (``expired_keys``). A re-publication whose original is deleted loses its
        ``duplicate_of``.
        """
        d = self.dialect
        p = d.p
        hits: list[tuple[str]] = []
        items: list[tuple[int]] = []
        with self._write() as conn:
            self._serialise(conn, "retention")
            if hits_before is not None:
                rows = self._rows(
                    conn,
                    "SELECT h.id, h.item_id, h.topic, h.alerted, i.expired_hits FROM hits h "
                    f"JOIN items i ON i.id = h.item_id WHERE h.detected_at < {p} AND NOT "
                    "EXISTS (SELECT 1 FROM deliveries d WHERE d.hit_id = h.id AND d.status = "
                    f"'pending') LIMIT {p}",
                    (d.time(hits_before), limit),
                )
                hits = [(row["id"],) for row in rows]
                self._run_many(  # the item keeps what it was a hit for: not alerted again
                    conn, f"UPDATE items SET expired_hits = {p} WHERE id = {p}", expired_hits(rows)
                )
                self._run_many(conn, f"DELETE FROM deliveries WHERE hit_id = {p}", hits)
                self._run_many(conn, f"DELETE FROM hits WHERE id = {p}", hits)
            if items_before is not None:
                rows = self._rows(
                    conn,
                    "SELECT id, feed_id, key, fingerprint, published FROM items i "
                    f"WHERE first_seen < {p} AND NOT EXISTS "
                    "(SELECT 1 FROM hits h WHERE h.item_id = i.id) AND id NOT IN "
                    "(SELECT j.id FROM items j WHERE j.feed_id = i.feed_id "
                    f"ORDER BY j.published DESC NULLS LAST, j.id DESC LIMIT {p}) LIMIT {p}",
                    (d.time(items_before), keep_latest, limit),
                )
                items = [(row["id"],) for row in rows]
                # what the intake's date filter cannot keep out (stamped with the cutoff)
                cutoff = iso(items_before)
                self._run_many(
                    conn,
                    "INSERT INTO expired_keys (feed_id, key, fingerprint, expired_at) "
                    f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (feed_id, key) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint, expired_at = excluded.expired_at",
                    [
                        (r["feed_id"], r["key"], r["fingerprint"], d.time(items_before))
                        for r in rows
                        if r["published"] is None or r["published"] >= cutoff
                    ],
                )
                self._run_many(
                    conn, f"UPDATE items SET duplicate_of = NULL WHERE duplicate_of = {p}", items
                )
                self._run_many(conn, f"DELETE FROM items WHERE id = {p}", items)
                if not rows:
                    self._run(
                        conn,
                        f"DELETE FROM expired_keys WHERE expired_at < {p}",
                        (d.time(items_before - EXPIRED_KEYS_KEPT),),
                    )
        return len(items), len(hits)


def expired_hits(rows: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """``(items.expired_hits, item id)`` for the hits about to be deleted (``rows``: their
    ``item_id``, ``topic``, ``alerted`` and their item's ``expired_hits``): each item's
    topics, 1 alerted / 0 not, added to those an earlier batch recorded."""
    marks: dict[int, dict[str, int]] = {}
    for row in rows:
        mark = marks.setdefault(row["item_id"], loads_expired_hits(row["expired_hits"]))
        mark[row["topic"]] = int(row["alerted"])
    return [(json.dumps(mark, sort_keys=True), item) for item, mark in marks.items()]


def loads_expired_hits(text: str | None) -> dict[str, int]:
    """``items.expired_hits`` read: topic -> 1 alerted / 0 not (empty for NULL)."""
    return {str(k): int(v) for k, v in json.loads(text).items()} if text else {}
