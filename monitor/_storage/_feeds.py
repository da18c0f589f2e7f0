"""SQLite's side of the feeds (``_feeds_shared`` has the rest): no leases (one process per
file), retention, and the state save in one write transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .._times import iso
from ._base import StorageBase
from ._feeds_shared import SharedFeedsMixin
from ._noclaims import no_leases
from ._rows import TopicUpdate, state_json, state_keys

EXPIRED_KEYS_KEPT = timedelta(days=365)  # an expired item's key keeps it out this long
# Each feed's latest items stay, however old: they are its rhythm (feed health), so a dead
# feed stays "silent" instead of turning "ok" when retention deletes what it last published.
KEEP_LATEST = 3


class FeedsMixin(StorageBase, SharedFeedsMixin):
    def _check_lease(self, lease: tuple[str, datetime] | None) -> None:
        no_leases(lease)  # one process per file: nothing is claimed

    def _release_lease(self, conn: Any, feed_id: int, lease: tuple[str, datetime] | None) -> None:
        """Nothing to release (see :meth:`_check_lease`)."""

    # -- retention ---------------------------------------------------------------------------

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
        pending. Items first seen before ``items_before`` go unless they are hits (kept as long
        as their hits) or among their feed's ``keep_latest``; the keys their date cannot keep
        out are kept (``expired_keys``). A re-publication whose original is deleted loses its
        ``duplicate_of``.
        """
        hits: list[tuple[str]] = []
        items: list[tuple[int]] = []
        with self._write() as conn:
            if hits_before is not None:
                hits = conn.execute(
                    "SELECT id FROM hits h WHERE detected_at < ? AND NOT EXISTS (SELECT 1 FROM "
                    "deliveries d WHERE d.hit_id = h.id AND d.status = 'pending') LIMIT ?",
                    (iso(hits_before), limit),
                ).fetchall()
                conn.executemany("DELETE FROM deliveries WHERE hit_id = ?", hits)
                conn.executemany("DELETE FROM hits WHERE id = ?", hits)
            if items_before is not None:
                rows = conn.execute(
                    "SELECT id, feed_id, key, fingerprint, published FROM items i "
                    "WHERE first_seen < ? AND NOT EXISTS "
                    "(SELECT 1 FROM hits h WHERE h.item_id = i.id) AND id NOT IN "
                    "(SELECT j.id FROM items j WHERE j.feed_id = i.feed_id "
                    "ORDER BY j.published DESC, j.id DESC LIMIT ?) LIMIT ?",
                    (iso(items_before), keep_latest, limit),
                ).fetchall()
                items = [(row[0],) for row in rows]
                # what the intake's date filter cannot keep out (stamped with the cutoff)
                cutoff = iso(items_before)
                conn.executemany(
                    "INSERT OR REPLACE INTO expired_keys (feed_id, key, fingerprint, "
                    "expired_at) VALUES (?, ?, ?, ?)",
                    [(f, k, fp, cutoff) for _, f, k, fp, p in rows if p is None or p >= cutoff],
                )
                conn.executemany(
                    "UPDATE items SET duplicate_of = NULL WHERE duplicate_of = ?", items
                )
                conn.executemany("DELETE FROM items WHERE id = ?", items)
                if not rows:
                    conn.execute(
                        "DELETE FROM expired_keys WHERE expired_at < ?",
                        (iso(items_before - EXPIRED_KEYS_KEPT),),
                    )
        return len(items), len(hits)

    def update_topic_states(
        self,
        topics: Sequence[str],
        update: TopicUpdate,
        now: datetime,
        *,
        only: Sequence[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Read, change and write each topic's state in ONE write transaction (SQLite takes
        it at once: no other writer between the read and the write); return what was written.
        ``update(topic, stored)`` gets the stored state (None: none yet), or with ``only``
        just those of its keys (scalars), read without parsing the rest."""
        written: dict[str, dict[str, Any]] = {}
        with self._write() as conn:
            for topic in topics:
                stored = _stored_state(conn, topic, only)
                written[topic] = state = update(topic, stored)
                conn.execute(
                    "INSERT INTO topic_state (topic, state, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (topic) DO UPDATE SET state = excluded.state, "
                    "updated = excluded.updated",
                    (topic, state_json(state), iso(now)),
                )
        return written


def _stored_state(
    conn: sqlite3.Connection, topic: str, only: Sequence[str] | None
) -> dict[str, Any] | None:
    """A topic's stored state, or ``only`` its keys: SQLite's ``json_extract`` reads them
    without Python parsing megabytes of JSON (a build without JSON functions reads it all)."""
    if only is not None:
        paths = ", ".join("json_extract(state, ?)" for _ in only)
        keys = ['$."' + key.replace('"', '""') + '"' for key in only]
        try:
            row = conn.execute(
                f"SELECT {paths} FROM topic_state WHERE topic = ?", (*keys, topic)
            ).fetchone()
        except sqlite3.OperationalError:
            pass
        else:
            if row is None:
                return None
            return {key: value for key, value in zip(only, row, strict=True) if value is not None}
    row = conn.execute("SELECT state FROM topic_state WHERE topic = ?", (topic,)).fetchone()
    return state_keys(json.loads(row[0]) if row else None, only)
