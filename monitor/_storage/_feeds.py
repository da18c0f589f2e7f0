"""The daemon's side: feeds, polls (one transaction each), retention, the trackers' state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._config import FeedConfig
from .._decide import clamp_wait
from .._errors import StorageError
from .._models import Entry, FeedState
from .._routing import channels_for
from .._times import iso, parse_iso
from .._urls import feed_identity
from ._base import StorageBase
from ._noclaims import no_leases
from ._rows import FEED_STATE_COLUMNS, NewItem, TopicUpdate, feed_state_from, hit_id

_INSERT_ITEM = (
    "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, first_seen, "
    "score, topic, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (feed_id, key) DO NOTHING"
)


class FeedsMixin(StorageBase):
    def sync_feeds(self, feeds: Iterable[FeedConfig]) -> None:
        """Make sure every configured feed has a row; names follow the config. A row stored
        under another spelling of the same URL (before URLs were canonicalised: scheme or host
        case, a default port) is that feed's row: renamed, not replaced."""
        with self._write() as conn:
            stored: dict[str, tuple[int, str]] = {}
            for row_id, url in conn.execute("SELECT id, url FROM feeds").fetchall():
                canonical = feed_identity(url)
                if canonical == url or canonical not in stored:  # an exact row wins
                    stored[canonical] = (row_id, url)
            for feed in feeds:
                row_id, url = stored.get(feed.url, (None, feed.url))
                if row_id is not None and url != feed.url:
                    conn.execute(
                        "UPDATE feeds SET url = ?, fetch_url = CASE WHEN fetch_url = url "
                        "THEN ? ELSE fetch_url END WHERE id = ?",
                        (feed.url, feed.url, row_id),
                    )
                conn.execute(
                    "INSERT INTO feeds (url, fetch_url, name) VALUES (?, ?, ?) "
                    "ON CONFLICT (url) DO UPDATE SET name = excluded.name, source = 'config'",
                    (feed.url, feed.url, feed.name),
                )

    def feed_states(self) -> dict[str, FeedState]:
        rows = self._read(f"SELECT {FEED_STATE_COLUMNS} FROM feeds")
        return {row["url"]: feed_state_from(row) for row in rows}

    def feed_state(self, url: str) -> FeedState:
        """One configured feed's state (a poll reads only its own row, not every feed's)."""
        rows = self._read(f"SELECT {FEED_STATE_COLUMNS} FROM feeds WHERE url = ?", (url,))
        if not rows:
            raise StorageError(f"{self.path}: feed {url!r} is not in the database")
        return feed_state_from(rows[0])

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

    def clamp_waits(self, now: datetime) -> int:
        """Feeds last polled "after" ``now`` (stored under a clock that was ahead): their
        ``retry_until`` is clamped to its own length from now and ``last_polled`` to now.
        Returns how many feeds were clamped."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, last_polled, retry_until FROM feeds WHERE last_polled > ?",
                (iso(now),),
            ).fetchall()
            for feed_id, polled, until in rows:
                since, wait = parse_iso(polled), parse_iso(until)
                clamped = None if wait is None else clamp_wait(wait, since, now)
                conn.execute(
                    "UPDATE feeds SET last_polled = ?, retry_until = ? WHERE id = ?",
                    (iso(now), iso(clamped), feed_id),
                )
        return len(rows)

    def known_entries(
        self, feed: FeedState, entries: Sequence[Entry]
    ) -> tuple[dict[str, tuple[str, str]], set[str]]:
        """Which of ``entries`` this feed has: ``({key: (title, summary)}, {fingerprints})``."""
        keys: dict[str, tuple[str, str]] = {}
        prints: set[str] = set()
        for chunk in _chunks(entries, 400):
            marks = ",".join("?" * len(chunk))
            for row in self._read(
                f"SELECT key, title, summary FROM items WHERE feed_id = ? AND key IN ({marks})",
                [feed.id, *(e.key for e in chunk)],
            ):
                keys[row["key"]] = (row["title"], row["summary"])
            for row in self._read(
                f"SELECT DISTINCT fingerprint FROM items WHERE feed_id = ? "
                f"AND fingerprint IN ({marks})",
                [feed.id, *(e.fingerprint for e in chunk)],
            ):
                prints.add(row["fingerprint"])
        return keys, prints

    def reused_keys(
        self, feed: FeedState, keys: Sequence[str]
    ) -> dict[str, list[tuple[str, str, str]]]:
        """For each key, the feed's items stored under it as reused (``key#…``), newest first:
        ``{key: [(reused key, title, summary), …]}``."""
        found: dict[str, list[tuple[str, str, str]]] = {}
        for key in keys:
            rows = self._read(
                "SELECT key, title, summary FROM items WHERE feed_id = ? AND key > ? AND key < ? "
                "ORDER BY id DESC",
                (feed.id, key + "#", key + "$"),
            )
            found[key] = [(r["key"], r["title"], r["summary"]) for r in rows]
        return found

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

    def topic_state(self, topic: str) -> dict[str, Any] | None:
        rows = self._read("SELECT state FROM topic_state WHERE topic = ?", (topic,))
        if not rows:
            return None
        state: dict[str, Any] = json.loads(rows[0]["state"])
        return state

    def save_topic_states(self, states: dict[str, dict[str, Any]], now: datetime) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO topic_state (topic, state, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (topic) DO UPDATE SET state = excluded.state, "
                "updated = excluded.updated",
                [(topic, json.dumps(state), iso(now)) for topic, state in states.items()],
            )

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

    def recent_hit_items(self, since: datetime) -> list[dict[str, Any]]:
        """Items that hit since ``since``, oldest first: replayed into the story grouper."""
        return self._read(
            "SELECT f.url AS feed_url, i.key, coalesce(min(h.title), i.title) AS title, "
            "coalesce(min(h.summary), i.summary) AS summary, "
            "coalesce(i.published, min(h.detected_at)) AS moment "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            "WHERE h.detected_at >= ? GROUP BY i.id ORDER BY min(h.detected_at), i.id",
            (iso(since),),
        )


def _chunks(seq: Sequence[Entry], size: int) -> Iterator[Sequence[Entry]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
