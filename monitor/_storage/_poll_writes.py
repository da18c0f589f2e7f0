"""A poll's outcomes on both backends, one transaction each: a failure, a 304, or the
poll's items, hits and outbox rows with the feed's new state. What differs is a hook of each
backend: a claimed feed's lease (``_check_lease``, ``_release_lease``), an inserted row's id
(``_insert_id``) and the outbox's wake-up (``_outbox_changed``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._models import FeedState
from .._routing import channels_for
from ._dialect import SqlMixin
from ._retention import loads_expired_hits
from ._rows import NewItem, hit_id


class PollWritesMixin(SqlMixin):
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
        """``lease``: ``(owner, next_poll)`` of a claimed feed (PostgreSQL's workers),
        released in the same transaction, as for every outcome of a poll."""
        d, p = self.dialect, self.dialect.p
        self._check_lease(lease)
        with self._write() as conn:
            self._run(
                conn,
                f"UPDATE feeds SET last_polled = {p}, last_status = {p}, last_error = {p}, "
                f"error_count = error_count + 1, retry_until = {p} WHERE id = {p}",
                (d.time(now), "gone" if gone else "error", message[:500], d.time(retry_until),
                 feed.id),
            )  # fmt: skip
            self._release_lease(conn, feed.id, lease)

    def record_not_modified(
        self,
        feed: FeedState,
        now: datetime,
        *,
        fetch_url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> None:
        d, p = self.dialect, self.dialect.p
        self._check_lease(lease)
        with self._write() as conn:
            self._run(
                conn,
                f"UPDATE feeds SET last_polled = {p}, last_success = {p}, last_status = "
                "'not-modified', last_error = NULL, error_count = 0, retry_until = NULL, "
                f"fetch_url = coalesce({p}, fetch_url), etag = coalesce({p}, etag), "
                f"last_modified = coalesce({p}, last_modified) WHERE id = {p}",
                (d.time(now), d.time(now), fetch_url, etag, last_modified, feed.id),
            )
            self._release_lease(conn, feed.id, lease)

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
        edited: Sequence[NewItem],
        channels: Sequence[str],
        routes: Mapping[str, Sequence[str]] | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> list[str]:
        """Store one successful poll in ONE transaction (items, hits, outbox rows and the
        feed's new state); return the ids of the new hits. ``routes``: a topic's own channels
        (``[[topics]] channels``), where not all. ``lease``: see :meth:`record_failure`."""
        d, p = self.dialect, self.dialect.p
        self._check_lease(lease)
        new_hits: list[str] = []
        stamp = d.time(now)
        insert_item = (
            "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, "
            "first_seen, score, topic, duplicate_of) "
            f"VALUES ({', '.join([p] * 11)}) ON CONFLICT (feed_id, key) DO NOTHING"
        )

        def row(item: NewItem, duplicate_of: int | None = None) -> tuple[Any, ...]:
            e = item.entry
            best = max(item.judgements, key=lambda j: j.score, default=None)
            score, topic = (best.score, best.topic) if best else (None, None)
            return (feed.id, e.key, e.fingerprint, e.title, e.summary, e.link,
                    d.time(e.published), stamp, score, topic, duplicate_of)  # fmt: skip

        # Most new items are no hit: one executemany for them (an item id is needed only
        # for a hit); hits and re-publications (which point at an earlier id) one by one.
        plain: list[NewItem] = []
        rest: list[NewItem] = []
        for item in items:
            one_by_one = item.duplicate or any(j.hit for j in item.judgements)
            (rest if one_by_one else plain).append(item)
        alerts = False  # outbox rows written
        with self._write() as conn:
            self._run_many(conn, insert_item, [row(item) for item in plain])
            for item in rest:
                e = item.entry
                duplicate_of = None
                if item.duplicate:
                    found = self._rows(
                        conn,
                        f"SELECT min(id) AS id FROM items WHERE feed_id = {p} "
                        f"AND fingerprint = {p}",
                        (feed.id, e.fingerprint),
                    )
                    duplicate_of = found[0]["id"] if found else None
                item_id = self._insert_id(conn, insert_item, row(item, duplicate_of))
                if item_id is None or item.duplicate:
                    continue
                added, outbox = self._add_hits(conn, feed, item, item_id, stamp, channels, routes)
                new_hits += added
                alerts |= outbox
            for item in edited:  # the story's text is the edited one now (fingerprint too),
                # judged again: a topic it had no hit for may alert now, once
                e = item.entry
                best = max(item.judgements, key=lambda j: j.score, default=None)
                self._run(
                    conn,
                    f"UPDATE items SET title = {p}, summary = {p}, link = {p}, updated = {p}, "
                    f"fingerprint = {p}, score = coalesce({p}, score), "
                    f"topic = coalesce({p}, topic) "
                    f"WHERE feed_id = {p} AND key = {p}",
                    (e.title, e.summary, e.link, stamp, e.fingerprint,
                     best.score if best else None, best.topic if best else None,
                     feed.id, e.key),
                )  # fmt: skip
                if any(j.hit for j in item.judgements):
                    added, outbox = self._add_hits(conn, feed, item, None, stamp, channels, routes)
                    new_hits += added
                    alerts |= outbox
            self._run(
                conn,
                f"UPDATE feeds SET title = coalesce({p}, title), fetch_url = {p}, etag = {p}, "
                f"last_modified = {p}, body_hash = {p}, last_polled = {p}, last_success = {p}, "
                f"last_status = 'ok', last_error = NULL, warning = {p}, error_count = 0, "
                f"retry_until = NULL, items_seen = items_seen + {p}, hits = hits + {p} "
                f"WHERE id = {p}",
                (title, fetch_url, etag, last_modified, body_hash, stamp, stamp, warning,
                 sum(1 for i in items if not i.duplicate), len(new_hits), feed.id),
            )  # fmt: skip
            self._release_lease(conn, feed.id, lease)
            if alerts:
                self._outbox_changed(conn)  # PostgreSQL: every worker's deliverer, at the commit
        return new_hits

    def _add_hits(
        self,
        conn: Any,
        feed: FeedState,
        item: NewItem,
        item_id: int | None,
        stamp: Any,
        channels: Sequence[str],
        routes: Mapping[str, Sequence[str]] | None,
    ) -> tuple[list[str], bool]:
        """The hits of a stored item (``item_id``; None: an edited one, found by its key) for
        the topics it has none for yet (nor had: deleted by ``keep_hits``, ``expired_hits``),
        and their outbox rows; (new hit ids, outbox written). One alert per story and topic:
        a copy of a story that topic already hit (the same GUID in another feed, a story seen
        before a restart) is stored, not alerted; a later copy (``item.alert`` false) alerts
        only the topics the story's stored copies never hit; an item another feed has, the
        same key and text, that alerted for the topic is not alerted again (a feed moved to a
        new URL brings its old items again, past any story window)."""
        p = self.dialect.p
        e = item.entry
        had: set[str] = set()
        if item_id is None:
            found = self._rows(
                conn,
                f"SELECT id, expired_hits FROM items WHERE feed_id = {p} AND key = {p}",
                (feed.id, e.key),
            )
            if not found:
                return [], False
            item_id = found[0]["id"]
            had = {  # its hits, and those keep_hits deleted (their alerts were sent)
                r["topic"]
                for r in self._rows(conn, f"SELECT topic FROM hits WHERE item_id = {p}", (item_id,))
            } | set(loads_expired_hits(found[0]["expired_hits"]))
        todo = [j for j in item.judgements if j.hit and j.topic not in had]
        if not todo:  # an edit of a hit: nothing new to store or alert
            return [], False
        hit_before = (
            {  # the topics the story's stored copies hit
                r["topic"]
                for r in self._rows(
                    conn, f"SELECT DISTINCT topic FROM hits WHERE story_id = {p}", (item.story_id,)
                )
            }
            if item.story_id is not None
            else set()
        )
        moved = {  # the topics for which another feed's copy, same key and text, alerted
            r["topic"]
            for r in self._rows(
                conn,
                "SELECT DISTINCT h.topic FROM items i JOIN hits h ON h.item_id = i.id "
                "WHERE i.feed_id IN (SELECT id FROM feeds) "  # the (feed, print) index
                f"AND i.fingerprint = {p} AND i.key = {p} AND i.feed_id <> {p} "
                "AND h.alerted = 1",
                (e.fingerprint, e.key, feed.id),
            )
        }
        added: list[str] = []
        outbox = False
        for j in todo:
            alert = (
                j.topic not in hit_before
                and j.topic not in moved
                and (item.alert or bool(hit_before))  # a later copy: of a story stored
            )
            hid = hit_id(feed.url, e.key, j.topic)
            self._run(
                conn,
                "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, "
                "story_id, alerted, title, summary, link, published) "
                f"VALUES ({', '.join([p] * 12)})",
                (hid, item_id, j.topic, j.score, json.dumps(j.matched), stamp,
                 item.story_id or hid, int(alert), e.title, e.summary, e.link,
                 self.dialect.time(e.published)),
            )  # fmt: skip
            added.append(hid)
            targets = channels_for(j.topic, channels, routes)  # [[topics]] channels
            if alert and targets:
                outbox = True
                self._run_many(
                    conn,
                    "INSERT INTO deliveries (hit_id, channel, status, next_attempt) "
                    f"VALUES ({p}, {p}, 'pending', {p})",
                    [(hid, channel, stamp) for channel in targets],
                )
        return added, outbox
