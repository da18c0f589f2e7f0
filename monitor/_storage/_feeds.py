"""The daemon's side on SQLite: a poll's outcomes (one transaction each), retention and the
trackers' state save; what both backends share is ``_feeds_shared``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._models import Entry, FeedState
from .._routing import channels_for
from .._times import iso
from ._base import StorageBase
from ._feeds_shared import SharedFeedsMixin
from ._noclaims import no_leases
from ._rows import NewItem, TopicUpdate, hit_id

_INSERT_ITEM = (
    "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, first_seen, "
    "score, topic, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (feed_id, key) DO NOTHING"
)


class FeedsMixin(StorageBase, SharedFeedsMixin):
    def record_failure(
        self,
        feed: FeedState,
        now: datetime,
        message: str,
        *,
        retry_until: datetime | None,
        gone: bool = False,
        lease: tuple[str, datetime] | None = None,
    ) -> None:
        no_leases(lease)
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = ?, last_status = ?, last_error = ?, "
                "error_count = error_count + 1, retry_until = ? WHERE id = ?",
                (iso(now), "gone" if gone else "error", message[:500], iso(retry_until), feed.id),
            )

    def record_not_modified(
        self,
        feed: FeedState,
        now: datetime,
        *,
        fetch_url: str | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> None:
        no_leases(lease)
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = ?, last_success = ?, last_status = "
                "'not-modified', last_error = NULL, error_count = 0, retry_until = NULL, "
                "fetch_url = coalesce(?, fetch_url) WHERE id = ?",
                (iso(now), iso(now), fetch_url, feed.id),
            )

    def store_poll(
        self,
        feed: FeedState,
        now: datetime,
        *,
        title: str | None,
        fetch_url: str,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        warning: str | None,
        items: Sequence[NewItem],
        edited: Sequence[Entry],
        channels: Sequence[str],
        routes: Mapping[str, Sequence[str]] | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> list[str]:
        """Store one successful poll in one transaction; return the ids of the new hits.
        ``routes``: a topic's own channels (``[[topics]] channels``), where not all."""
        no_leases(lease)
        new_hits: list[str] = []
        stamp = iso(now)

        def row(item: NewItem, duplicate_of: int | None = None) -> tuple[Any, ...]:
            e = item.entry
            best = max(item.judgements, key=lambda j: j.score, default=None)
            score, topic = (best.score, best.topic) if best else (None, None)
            return (feed.id, e.key, e.fingerprint, e.title, e.summary, e.link,
                    iso(e.published), stamp, score, topic, duplicate_of)  # fmt: skip

        # Most new items are no hit: one executemany for them (an item id is needed only
        # for a hit); hits and re-publications (which point at an earlier id) one by one.
        plain: list[NewItem] = []
        rest: list[NewItem] = []
        for item in items:
            one_by_one = item.duplicate or any(j.hit for j in item.judgements)
            (rest if one_by_one else plain).append(item)
        with self._write() as conn:
            conn.executemany(_INSERT_ITEM, [row(item) for item in plain])
            for item in rest:
                e = item.entry
                duplicate_of = None
                if item.duplicate:
                    duplicate_of = conn.execute(
                        "SELECT min(id) FROM items WHERE feed_id = ? AND fingerprint = ?",
                        (feed.id, e.fingerprint),
                    ).fetchone()[0]
                cursor = conn.execute(_INSERT_ITEM, row(item, duplicate_of))
                if cursor.rowcount == 0 or item.duplicate:
                    continue
                item_id = cursor.lastrowid
                # One alert per story: a copy of a story that already alerted (the same GUID
                # in another feed, a story seen before a restart) is stored, not alerted.
                alert = item.alert and not (
                    item.story_id is not None
                    and conn.execute(
                        "SELECT 1 FROM hits WHERE story_id = ? AND alerted = 1 LIMIT 1",
                        (item.story_id,),
                    ).fetchone()
                )
                for j in item.judgements:
                    if not j.hit:
                        continue
                    hid = hit_id(feed.url, e.key, j.topic)
                    conn.execute(
                        "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, "
                        "story_id, alerted, title, summary, link) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            hid,
                            item_id,
                            j.topic,
                            j.score,
                            json.dumps(j.matched),
                            stamp,
                            item.story_id or hid,
                            int(alert),
                            e.title,
                            e.summary,
                            e.link,
                        ),
                    )
                    new_hits.append(hid)
                    if alert:  # [[topics]] channels: only the channels its topic routes to
                        conn.executemany(
                            "INSERT INTO deliveries (hit_id, channel, status, next_attempt) "
                            "VALUES (?, ?, 'pending', ?)",
                            [(hid, c, stamp) for c in channels_for(j.topic, channels, routes)],
                        )
            for e in edited:
                conn.execute(
                    "UPDATE items SET title = ?, summary = ?, link = ?, updated = ? "
                    "WHERE feed_id = ? AND key = ?",
                    (e.title, e.summary, e.link, stamp, feed.id, e.key),
                )
            conn.execute(
                "UPDATE feeds SET title = coalesce(?, title), fetch_url = ?, etag = ?, "
                "last_modified = ?, body_hash = ?, last_polled = ?, last_success = ?, "
                "last_status = 'ok', last_error = NULL, warning = ?, error_count = 0, "
                "retry_until = NULL, items_seen = items_seen + ?, hits = hits + ? WHERE id = ?",
                (
                    title,
                    fetch_url,
                    etag,
                    last_modified,
                    body_hash,
                    stamp,
                    stamp,
                    warning,
                    sum(1 for i in items if not i.duplicate),
                    len(new_hits),
                    feed.id,
                ),
            )
        return new_hits

    # -- retention ---------------------------------------------------------------------------

    def expire(
        self,
        *,
        items_before: datetime | None,
        hits_before: datetime | None = None,
        limit: int = 5000,
    ) -> tuple[int, int]:
        """Delete one batch (at most ``limit`` of each) of expired rows in one transaction;
        return ``(items, hits)`` deleted. Call again until it returns ``(0, 0)``.

        Hits detected before ``hits_before`` go with their alerts, unless an alert is still
        pending. Items first seen before ``items_before`` go unless they are hits (kept as long
        as their hits). A re-publication whose original is deleted loses its ``duplicate_of``.
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
                items = conn.execute(
                    "SELECT id FROM items i WHERE first_seen < ? AND NOT EXISTS "
                    "(SELECT 1 FROM hits h WHERE h.item_id = i.id) LIMIT ?",
                    (iso(items_before), limit),
                ).fetchall()
                conn.executemany(
                    "UPDATE items SET duplicate_of = NULL WHERE duplicate_of = ?", items
                )
                conn.executemany("DELETE FROM items WHERE id = ?", items)
        return len(items), len(hits)

    def update_topic_states(
        self, topics: Sequence[str], update: TopicUpdate, now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Read, change and write each topic's state in ONE write transaction (SQLite takes
        it at once: no other writer between the read and the write); return what was written.
        ``update(topic, stored)`` gets the stored state (None: none yet)."""
        written: dict[str, dict[str, Any]] = {}
        with self._write() as conn:
            for topic in topics:
                row = conn.execute(
                    "SELECT state FROM topic_state WHERE topic = ?", (topic,)
                ).fetchone()
                stored = json.loads(row[0]) if row else None
                written[topic] = state = update(topic, stored if isinstance(stored, dict) else None)
                conn.execute(
                    "INSERT INTO topic_state (topic, state, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (topic) DO UPDATE SET state = excluded.state, "
                    "updated = excluded.updated",
                    (topic, json.dumps(state), iso(now)),
                )
        return written
