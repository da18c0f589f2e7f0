"""PostgreSQL: a poll's outcomes (one transaction each, the lease released in it) and the
merging state save (``_feeds``' counterpart; what both share is ``_feeds_shared``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._models import Entry, FeedState
from .._routing import channels_for
from ._feeds_shared import SharedFeedsMixin
from ._pg_base import PostgresBase
from ._pg_claims import release
from ._pg_notify import notify_outbox
from ._rows import NewItem, TopicUpdate, hit_id

_INSERT_ITEM = (
    "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, first_seen, "
    "score, topic, duplicate_of) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (feed_id, key) DO NOTHING"
)


class PgFeedsMixin(PostgresBase, SharedFeedsMixin):
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
        """``lease``: ``(owner, next_poll)`` of a claimed feed, released in the same
        transaction (as for every outcome of a poll)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = %s, last_status = %s, last_error = %s, "
                "error_count = error_count + 1, retry_until = %s WHERE id = %s",
                (now, "gone" if gone else "error", message[:500], retry_until, feed.id),
            )
            if lease is not None:
                release(conn, feed.id, *lease)

    def record_not_modified(
        self,
        feed: FeedState,
        now: datetime,
        *,
        fetch_url: str | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET last_polled = %s, last_success = %s, last_status = "
                "'not-modified', last_error = NULL, error_count = 0, retry_until = NULL, "
                "fetch_url = coalesce(%s, fetch_url) WHERE id = %s",
                (now, now, fetch_url, feed.id),
            )
            if lease is not None:
                release(conn, feed.id, *lease)

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
        """Store one successful poll in ONE transaction (items, hits, outbox rows and the
        feed's new state); return the ids of the new hits. ``lease``: ``(owner, next_poll)``
        of a claimed feed (``_pg_claims``), released in the same transaction."""
        new_hits: list[str] = []

        def row(item: NewItem, duplicate_of: int | None = None) -> tuple[Any, ...]:
            e = item.entry
            best = max(item.judgements, key=lambda j: j.score, default=None)
            score, topic = (best.score, best.topic) if best else (None, None)
            return (feed.id, e.key, e.fingerprint, e.title, e.summary, e.link,
                    e.published, now, score, topic, duplicate_of)  # fmt: skip

        plain: list[NewItem] = []
        rest: list[NewItem] = []
        alerts = False  # outbox rows written
        for item in items:
            one_by_one = item.duplicate or any(j.hit for j in item.judgements)
            (rest if one_by_one else plain).append(item)
        with self._write() as conn:
            with conn.cursor() as cur:
                cur.executemany(_INSERT_ITEM, [row(item) for item in plain])
            for item in rest:
                e = item.entry
                duplicate_of = None
                if item.duplicate:
                    found = conn.execute(
                        "SELECT min(id) AS id FROM items WHERE feed_id = %s AND fingerprint = %s",
                        (feed.id, e.fingerprint),
                    ).fetchone()
                    duplicate_of = found["id"] if found else None
                inserted = conn.execute(
                    _INSERT_ITEM + " RETURNING id", row(item, duplicate_of)
                ).fetchone()
                if inserted is None or item.duplicate:
                    continue
                alert = item.alert and not (
                    item.story_id is not None
                    and conn.execute(
                        "SELECT 1 FROM hits WHERE story_id = %s AND alerted = 1 LIMIT 1",
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
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (hid, inserted["id"], j.topic, j.score, json.dumps(j.matched), now,
                         item.story_id or hid, int(alert), e.title, e.summary, e.link),
                    )  # fmt: skip
                    new_hits.append(hid)
                    targets = channels_for(j.topic, channels, routes)  # [[topics]] channels
                    if alert and targets:
                        alerts = True
                        with conn.cursor() as cur:
                            cur.executemany(
                                "INSERT INTO deliveries (hit_id, channel, status, next_attempt) "
                                "VALUES (%s, %s, 'pending', %s)",
                                [(hid, channel, now) for channel in targets],
                            )
            for e in edited:
                conn.execute(
                    "UPDATE items SET title = %s, summary = %s, link = %s, updated = %s "
                    "WHERE feed_id = %s AND key = %s",
                    (e.title, e.summary, e.link, now, feed.id, e.key),
                )
            conn.execute(
                "UPDATE feeds SET title = coalesce(%s, title), fetch_url = %s, etag = %s, "
                "last_modified = %s, body_hash = %s, last_polled = %s, last_success = %s, "
                "last_status = 'ok', last_error = NULL, warning = %s, error_count = 0, "
                "retry_until = NULL, items_seen = items_seen + %s, hits = hits + %s "
                "WHERE id = %s",
                (title, fetch_url, etag, last_modified, body_hash, now, now, warning,
                 sum(1 for i in items if not i.duplicate), len(new_hits), feed.id),
            )  # fmt: skip
            if lease is not None:
                release(conn, feed.id, *lease)
            if alerts:
                notify_outbox(conn)  # every worker's deliverer, at the commit
        return new_hits

    def update_topic_states(
        self, topics: Sequence[str], update: TopicUpdate, now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Read, change and write each topic's state in ONE transaction, its row locked
        (``FOR UPDATE``) from the read to the commit: another worker's save of the same topic
        waits, then reads what this one wrote. Rows are created first (``DO NOTHING``), in
        the topics' order, so that a topic's first two saves cannot both insert."""
        order = sorted(set(topics))
        written: dict[str, dict[str, Any]] = {}
        with self._write() as conn:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO topic_state (topic, state, updated) VALUES (%s, 'null', %s) "
                    "ON CONFLICT (topic) DO NOTHING",
                    [(topic, now) for topic in order],
                )
            rows = conn.execute(
                "SELECT topic, state FROM topic_state WHERE topic = ANY(%s) "
                "ORDER BY topic FOR UPDATE",
                (order,),
            ).fetchall()
            stored = {row["topic"]: json.loads(row["state"]) for row in rows}
            for topic in topics:
                old = stored.get(topic)
                written[topic] = state = update(topic, old if isinstance(old, dict) else None)
                conn.execute(
                    "UPDATE topic_state SET state = %s, updated = %s WHERE topic = %s",
                    (json.dumps(state), now, topic),
                )
        return written
