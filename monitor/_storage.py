"""SQLite storage: the only module that talks to the database.

WAL journal, ``BEGIN IMMEDIATE`` for every write, a busy timeout. A poll's items, hits and
outbox rows are written with the feed's new state in ONE transaction, so nothing is marked
seen that was not stored, and no hit exists without its queued alerts. sqlite3 errors are
translated into :class:`StorageError` here, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ._config import FeedConfig
from ._errors import StorageError
from ._models import Alert, Entry, Judgement
from ._schema import migrate
from ._times import iso, parse_iso

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database knows about one configured feed."""

    id: int
    url: str
    fetch_url: str
    name: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_polled: datetime | None
    last_status: str | None
    error_count: int
    retry_until: datetime | None

    @property
    def gone(self) -> bool:
        return self.last_status == "gone"


@dataclass(frozen=True, slots=True)
class NewItem:
    """A new entry with its judgements, ready to be stored."""

    entry: Entry
    judgements: tuple[Judgement, ...]
    duplicate: bool = False  # the same story already stored for this feed: never a hit
    story_id: str | None = None
    alert: bool = True  # False for a later copy of a story that already alerted


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    channel: str
    attempts: int
    alert: Alert


_INSERT_ITEM = (
    "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, first_seen, "
    "score, topic, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (feed_id, key) DO NOTHING"
)


def hit_id(feed_url: str, key: str, topic: str) -> str:
    """A stable id for a hit: the same item and topic always give the same id."""
    digest = hashlib.sha256(f"{feed_url}\n{key}\n{topic}".encode()).hexdigest()
    return f"hit_{digest[:24]}"


class Storage:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            _create_private(path)
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StorageError(f"{path}: cannot use the database: {_reason(exc)}") from None
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {_reason(exc)}") from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StorageError(f"{self.path}: {_reason(exc)}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {_reason(exc)}") from None

    # -- feeds -----------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[FeedConfig]) -> None:
        """Make sure every configured feed has a row; names follow the config."""
        with self._write() as conn:
            for feed in feeds:
                conn.execute(
                    "INSERT INTO feeds (url, fetch_url, name) VALUES (?, ?, ?) "
                    "ON CONFLICT (url) DO UPDATE SET name = excluded.name",
                    (feed.url, feed.url, feed.name),
                )

    def feed_states(self) -> dict[str, FeedState]:
        rows = self._read(f"SELECT {_FEED_STATE} FROM feeds")
        return {row["url"]: _feed_state(row) for row in rows}

    def feed_state(self, url: str) -> FeedState:
        """One configured feed's state (a poll reads only its own row, not every feed's)."""
        rows = self._read(f"SELECT {_FEED_STATE} FROM feeds WHERE url = ?", (url,))
        if not rows:
            raise StorageError(f"{self.path}: feed {url!r} is not in the database")
        return _feed_state(rows[0])

    def record_failure(
        self,
        feed: FeedState,
        now: datetime,
        message: str,
        *,
        retry_until: datetime | None,
        gone: bool = False,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = ?, last_status = ?, last_error = ?, "
                "error_count = error_count + 1, retry_until = ? WHERE id = ?",
                (iso(now), "gone" if gone else "error", message[:500], iso(retry_until), feed.id),
            )

    def record_not_modified(
        self, feed: FeedState, now: datetime, *, fetch_url: str | None = None
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = ?, last_success = ?, last_status = "
                "'not-modified', last_error = NULL, error_count = 0, retry_until = NULL, "
                "fetch_url = coalesce(?, fetch_url) WHERE id = ?",
                (iso(now), iso(now), fetch_url, feed.id),
            )

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
    ) -> list[str]:
        """Store one successful poll in one transaction; return the ids of the new hits."""
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
                for j in item.judgements:
                    if not j.hit:
                        continue
                    hid = hit_id(feed.url, e.key, j.topic)
                    conn.execute(
                        "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, "
                        "story_id, alerted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            hid,
                            item_id,
                            j.topic,
                            j.score,
                            json.dumps(j.matched),
                            stamp,
                            item.story_id or hid,
                            int(item.alert),
                        ),
                    )
                    new_hits.append(hid)
                    if item.alert:
                        conn.executemany(
                            "INSERT INTO deliveries (hit_id, channel, status, next_attempt) "
                            "VALUES (?, ?, 'pending', ?)",
                            [(hid, channel, stamp) for channel in channels],
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

    # -- the outbox --------------------------------------------------------------------------

    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        marks = ",".join("?" * len(channels))
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, h.id, h.topic, h.score, "
            "h.matched, h.detected_at, h.story_id, i.title, i.summary, i.link, i.published, "
            "f.name AS feed, f.url AS feed_url FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id "
            "JOIN feeds f ON f.id = i.feed_id "
            "LEFT JOIN channels c ON c.name = d.channel "
            f"WHERE d.status = 'pending' AND d.next_attempt <= ? AND d.channel IN ({marks}) "
            "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT ?",
            (iso(now), *channels, limit),
        )
        return [
            Delivery(row["delivery_id"], row["channel"], row["attempts"], _alert(row))
            for row in rows
        ]

    def next_attempt(self, channels: Sequence[str]) -> datetime | None:
        marks = ",".join("?" * len(channels))
        rows = self._read(
            "SELECT min(next_attempt) AS t FROM deliveries d LEFT JOIN channels c "
            "ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at "
            f"IS NULL AND d.channel IN ({marks})",
            channels,
        )
        return parse_iso(rows[0]["t"]) if rows else None

    def record_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record one attempt: delivered (no error), to retry at ``retry_at``, or failed."""
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_attempt = ?, "
                "last_error = ?, next_attempt = ?, delivered_at = ? WHERE id = ?",
                (
                    status,
                    iso(now),
                    error,
                    iso(retry_at),
                    iso(now) if error is None else None,
                    delivery_id,
                ),
            )

    def disable_channel(self, channel: str, target: str, now: datetime, reason: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO channels (name, target, disabled_at, reason) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "target = excluded.target, disabled_at = excluded.disabled_at, "
                "reason = excluded.reason",
                (channel, target, iso(now), reason),
            )

    def enable_changed_channels(self, targets: Mapping[str, str]) -> None:
        """A channel disabled by a 410 stays disabled until the config points it elsewhere."""
        with self._write() as conn:
            for row in conn.execute("SELECT name, target FROM channels").fetchall():
                if targets.get(row[0], row[1]) != row[1]:
                    conn.execute("DELETE FROM channels WHERE name = ?", (row[0],))

    def disabled_channels(self) -> dict[str, str]:
        return {
            row["name"]: row["reason"] for row in self._read("SELECT name, reason FROM channels")
        }

    # -- topic state ------------------------------------------------------------------------

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

    def recent_hit_items(self, since: datetime) -> list[dict[str, Any]]:
        """Items that hit since ``since``, oldest first: replayed into the story grouper."""
        return self._read(
            "SELECT i.key, i.title, i.summary, coalesce(i.published, h.detected_at) AS moment "
            "FROM hits h JOIN items i ON i.id = h.item_id WHERE h.detected_at >= ? "
            "GROUP BY i.id ORDER BY min(h.detected_at), i.id",
            (iso(since),),
        )

    # -- feedback ---------------------------------------------------------------------------

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
        """Delete judgements by feedback id, or of the item a hit id / item id / link names."""
        item = self.find_item(ident) if not ident.isdigit() else None
        with self._write() as conn:
            if item is not None:
                sql, params = "DELETE FROM feedback WHERE item_id = ?", [item["id"]]
            else:
                sql, params = "DELETE FROM feedback WHERE CAST(id AS TEXT) = ?", [ident]
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
            "SELECT h.id, h.topic, h.score, i.title, i.link, f.name AS feed, i.published, "
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

    def feeds_report(self) -> list[dict[str, Any]]:
        return self._read(
            "SELECT name, url, fetch_url, last_status, last_polled, last_success, error_count, "
            "retry_until, items_seen, hits, last_error, warning FROM feeds ORDER BY name"
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

    def requeue(self, ident: str, now: datetime) -> int:
        """Queue again the deliveries of a hit id or a delivery id; return how many."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt = ?, attempts = 0 "
                "WHERE hit_id = ? OR CAST(id AS TEXT) = ?",
                (iso(now), ident, ident),
            )
            return cursor.rowcount


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
        raise StorageError(f"{path}: cannot read the feedback: {_reason(exc)}") from None
    return [
        {"topic": topic, "title": title, "summary": summary, "relevant": bool(relevant)}
        for topic, title, summary, relevant in rows
    ]


_FEED_STATE = (
    "id, url, fetch_url, name, etag, last_modified, body_hash, last_polled, last_status, "
    "error_count, retry_until"
)


def _feed_state(row: dict[str, Any]) -> FeedState:
    return FeedState(
        id=row["id"],
        url=row["url"],
        fetch_url=row["fetch_url"],
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_polled=parse_iso(row["last_polled"]),
        last_status=row["last_status"],
        error_count=row["error_count"],
        retry_until=parse_iso(row["retry_until"]),
    )


def _alert(row: dict[str, Any]) -> Alert:
    published = parse_iso(row["published"])
    detected = parse_iso(row["detected_at"])
    assert detected is not None
    return Alert(
        id=row["id"],
        topic=row["topic"],
        score=row["score"],
        title=row["title"],
        summary=row["summary"],
        link=row["link"],
        feed=row["feed"],
        feed_url=row["feed_url"],
        published=published,
        detected_at=detected,
        matched=tuple((str(f), float(w)) for f, w in json.loads(row["matched"])),
        story_id=row["story_id"],
    )


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _chunks(seq: Sequence[Entry], size: int) -> Iterator[Sequence[Entry]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "the file is not a SQLite database or is corrupt"
    if "database is locked" in text:
        return "the database is locked by another process (tried for 5 s)"
    if "disk is full" in text or "database or disk is full" in text:
        return "the disk is full"
    return text
