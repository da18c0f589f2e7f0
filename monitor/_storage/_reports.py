"""What the CLI reads (hits, feeds, deliveries, judgements, the items a user names), written
once for both backends.

A backend differs here only in its :class:`~monitor._storage._dialect.Dialect`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .._parse import page_key
from .._times import parse_iso
from ._dialect import SqlMixin
from ._rows import HIT_PUBLISHED


class ReportsMixin(SqlMixin):
    """The shared reads."""

    def find_item(self, ident: str) -> dict[str, Any] | None:
        """The item a user names by hit id, item id or link, with the hit's topic if any
        (else the topic of its best score), its best score over the topics when it was
        stored (``best_score``, ``best_topic``), the topics its feed is scored for
        (``feed_topics``: a JSON list, None for every topic) and how many topics it hit
        (``hit_topics``; ``hit_topic`` one of them); ``first_seen``, when it was stored;
        ``expired_hits``, the topics of its hits ``keep_hits`` deleted (JSON, or None)."""
        d = self.dialect
        columns = (
            "i.id, i.title, i.summary, i.link, i.first_seen, i.score AS best_score, "
            "i.topic AS best_topic, i.expired_hits, "
            "f.topics AS feed_topics, "
            "(SELECT count(*) FROM hits x WHERE x.item_id = i.id) AS hit_topics, "
            "(SELECT min(x.topic) FROM hits x WHERE x.item_id = i.id) AS hit_topic"
        )
        if ident.startswith("hit_"):
            sql = (
                f"SELECT {columns}, h.topic FROM hits h JOIN items i ON i.id = h.item_id "
                f"JOIN feeds f ON f.id = i.feed_id WHERE h.id = {d.p}"
            )
        elif ident.isascii() and ident.isdigit():
            sql = (
                f"SELECT {columns}, i.topic FROM items i JOIN feeds f ON f.id = i.feed_id "
                f"WHERE i.id = {d.p}{d.integer}"
            )
        else:
            sql = (  # in several feeds: the copy that hit (what an alert links to) first
                f"SELECT {columns}, i.topic FROM items i JOIN feeds f ON f.id = i.feed_id "
                f"WHERE i.link = {d.p} ORDER BY hit_topics DESC, i.first_seen DESC LIMIT 1"
            )
        rows = self._read(sql, (ident,))
        if rows or ident.startswith("hit_") or (ident.isascii() and ident.isdigit()):
            return rows[0] if rows else None
        return self._item_by_page(ident, columns)

    def _item_by_page(self, link: str, columns: str) -> dict[str, Any] | None:
        """The item whose link is ``link`` written another way (``page_key``), one that hit
        first, else the latest: the candidates share its path, and are compared whole."""
        want = page_key(link)
        try:
            path = urlsplit(want).path.rstrip("/")
        except ValueError:  # not a URL ("http://[::1/x"): only the exact link above matches
            return None
        if not path:
            return None
        d = self.dialect
        pattern = "%" + path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._read(
            f"SELECT {columns}, i.topic FROM items i JOIN feeds f ON f.id = i.feed_id "
            f"WHERE i.link LIKE {d.p} ESCAPE '\\' "
            "ORDER BY hit_topics DESC, i.first_seen DESC LIMIT 500",
            (pattern,),
        )
        return next((row for row in rows if page_key(row["link"] or "") == want), None)

    def remove_feedback(self, ident: str, topic: str | None = None) -> int:
        """Delete judgements by feedback id (``fb_N``, as ``--list`` shows it), or of the item
        a hit id / item id / link names (the same ids as judging takes): a link also as it
        was judged, though another feed's copy of it may be stored since."""
        p = self.dialect.p
        number = ident.removeprefix("fb_")
        params: list[Any]
        if ident.startswith("fb_") and number.isascii() and number.isdigit():
            where, params = f"id = {p}", [int(number)]
        else:
            item = self.find_item(ident)
            where, params = f"link = {p}", [ident]
            if item is not None:
                where, params = f"({where} OR item_id = {p})", [ident, item["id"]]
        if topic is not None:
            where += f" AND topic = {p}"
            params.append(topic)
        return self._execute(f"DELETE FROM feedback WHERE {where}", params)

    def feedback(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Judgements, oldest first (optionally of one topic)."""
        sql = "SELECT id, topic, relevant, judged_at, item_id, link, title, summary FROM feedback"
        params: tuple[str, ...] = ()
        if topic is not None:
            sql += f" WHERE topic = {self.dialect.p}"
            params = (topic,)
        rows = self._read(sql + " ORDER BY id", params)
        for row in rows:
            row["relevant"] = bool(row["relevant"])
        return rows

    def hits(
        self, *, since: datetime | None = None, topic: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Hits newest first, with their feed's stored name (``feed``) and address
        (``feed_url``: a config feed's name is the config's, the row has it from the last
        write)."""
        d = self.dialect
        where, params = [d.true], list[Any]()
        if since is not None:
            where.append(f"h.detected_at >= {d.p}")
            params.append(d.time(since))
        if topic is not None:
            where.append(f"h.topic = {d.p}")
            params.append(topic)
        sql = (
            "SELECT h.id, h.topic, h.score, coalesce(h.title, i.title) AS title, "
            "coalesce(h.link, i.link) AS link, f.name AS feed, f.url AS feed_url, "
            f"{HIT_PUBLISHED}, h.detected_at, h.story_id, h.alerted, h.matched, "
            f"{d.channels} AS deliveries "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} ORDER BY h.detected_at DESC, {d.hit_order} DESC"
        )
        if limit is not None:
            sql += f" LIMIT {d.p}"
            params.append(limit)
        rows = self._read(sql, params)
        for row in rows:
            row["matched"] = json.loads(row["matched"])
            row["alerted"] = bool(row["alerted"])
        return rows

    def hit_entries(
        self, *, topic: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Hits newest first with title, link, feed, summary (as judged, frozen at detection)
        and what matched (``matched`` as ``[[feature, weight], …]``), for the Atom feed."""
        d = self.dialect
        where, params = [d.true], list[Any]()
        if topic is not None:
            where.append(f"h.topic = {d.p}")
            params.append(topic)
        if since is not None:
            where.append(f"h.detected_at >= {d.p}")
            params.append(d.time(since))
        rows = self._read(
            "SELECT h.id, h.topic, h.score, coalesce(h.title, i.title) AS title, "
            "coalesce(h.link, i.link) AS link, f.name AS feed, f.url AS feed_url, "
            f"{HIT_PUBLISHED}, h.detected_at, "
            "coalesce(h.summary, i.summary) AS summary, h.story_id, h.matched "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} ORDER BY h.detected_at DESC, {d.hit_order} DESC "
            f"LIMIT {d.p}",  # as `monitor hits` orders
            [*params, limit],
        )
        for row in rows:
            row["matched"] = json.loads(row["matched"])
        return rows

    def item_hits(self, item_id: int) -> list[dict[str, Any]]:
        """The hits stored for one item (one per topic it hit), for ``monitor explain``."""
        d = self.dialect
        rows = self._read(
            "SELECT id, topic, score, matched, detected_at, story_id, alerted FROM hits "
            f"WHERE item_id = {d.p} ORDER BY topic{d.bytewise}",
            (item_id,),
        )
        for row in rows:
            row["matched"] = json.loads(row["matched"])
        return rows

    def stored_topics(self) -> list[str]:
        """The topics that left something in the database: a learnt state, judgements or hits
        (read once at start: the hits' part is a scan of their topic index)."""
        rows = self._read(
            "SELECT topic FROM topic_state UNION SELECT topic FROM feedback "
            "UNION SELECT DISTINCT topic FROM hits"
        )
        return sorted(str(row["topic"]) for row in rows)

    def story_alert(self, story_id: str, topic: str) -> str | None:
        """The id of the hit that carried a story's alert for ``topic`` (its alerted hit, with
        deliveries: a topic with no alert channel alerts nobody), if any."""
        d = self.dialect
        rows = self._read(
            f"SELECT id FROM hits h WHERE story_id = {d.p} AND topic = {d.p} AND alerted = 1 "
            "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.hit_id = h.id) "
            "ORDER BY detected_at LIMIT 1",
            (story_id, topic),
        )
        return str(rows[0]["id"]) if rows else None

    def recent_items(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` items first seen (oldest first, as they arrived; within a poll
        in the order stored, hits last), with their feed and the topics it is scored for
        (``feed_topics``, a JSON list; None: every topic): the stream ``monitor topic check``
        replays."""
        return self._read(
            "SELECT * FROM (SELECT i.id, i.feed_id, i.title, i.summary, i.link, i.published, "
            "i.first_seen, "
            "f.name AS feed, f.topics AS feed_topics FROM items i JOIN feeds f ON f.id = i.feed_id "
            "WHERE i.duplicate_of IS NULL ORDER BY i.first_seen DESC, i.id DESC "
            f"LIMIT {self.dialect.p}) r ORDER BY first_seen, id",
            (limit,),
        )

    def last_success(self) -> datetime | None:
        """When a feed was last read successfully (any feed), as stored."""
        rows = self._read("SELECT max(last_success) AS t FROM feeds")
        value = rows[0]["t"] if rows else None
        return value if isinstance(value, datetime) else parse_iso(value)

    def feeds_report(self, *, removed: bool = False) -> list[dict[str, Any]]:
        """Each feed's row for ``monitor feeds``; ``removed``: the removed feeds' rows too
        (kept for their items), which a feed back in the config takes up again."""
        where = "" if removed else "WHERE source <> 'removed' "
        return self._read(
            "SELECT name, url, fetch_url, last_status, last_polled, last_success, error_count, "
            "retry_until, items_seen, hits, last_error, warning, source, paused, "
            f"{self.dialect.removed_by} AS removed_by FROM feeds "
            f"{where}ORDER BY name{self.dialect.bytewise}"
        )

    def deliveries_report(self, status: str | None = None) -> list[dict[str, Any]]:
        """The outbox, newest first: the hits' deliveries, then the feed health alerts' (their
        ``hit_id`` the event's id, ``health_…``, which ``redeliver`` takes too; no ``id``)."""
        where, params = "", []
        if status:
            where = f" WHERE d.status = {self.dialect.p}"
            params = [status, status]
        columns = "d.channel, d.status, d.attempts, d.next_attempt, d.last_attempt, " + (
            f"d.delivered_at, d.last_error, {self.dialect.claimed_by} AS claimed_by"
        )
        sql = (
            f"SELECT 0 AS kind, d.id AS id, d.hit_id, {columns}, d.digest, i.title "
            f"FROM deliveries d JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id"
            f"{where} UNION ALL SELECT 1 AS kind, d.id AS id, d.event_id AS hit_id, {columns}, "
            "NULL AS digest, e.title "
            f"FROM feed_event_deliveries d JOIN feed_events e ON e.id = d.event_id{where} "
            "ORDER BY kind, id DESC"
        )
        rows = self._read(sql, params)
        for row in rows:
            if row.pop("kind"):  # a health alert's row: named by its health_… id alone (its
                row["id"] = None  # number, counted apart, would name a hit's delivery)
        return rows
