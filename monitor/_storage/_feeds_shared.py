"""The daemon's side on both backends: the configured feeds, their states and waits, what a
feed already has and the trackers' saved states; a poll's outcomes are ``_poll_writes``.
The merging state save stays in each backend (``_feeds``, ``_pg_feeds``); retention is
``_retention``, for both."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .._config import FeedConfig
from .._decide import clamp_wait
from .._errors import StorageError
from .._models import Entry, FeedState
from .._times import parse_iso
from .._urls import canonical_feed_url, feed_identity
from ._poll_writes import PollWritesMixin
from ._rows import FEED_STATE_COLUMNS, feed_state_from, state_json


class SharedFeedsMixin(PollWritesMixin):
    def sync_feeds(
        self, feeds: Iterable[FeedConfig], *, remove: bool = True, by: str | None = None
    ) -> list[str]:
        """Make sure every configured feed has a row; names follow the config. A row stored
        under another spelling of the same URL (before URLs were canonicalised: scheme or host
        case, a default port; or an address in another form, ``[0:0::1]`` for ``[::1]``,
        see :func:`monitor._urls.feed_identity`) is that feed's row: renamed, not replaced;
        a row stored under the config's exact URL is always that feed's. A feed the config no
        longer has is marked removed (``monitor feeds`` stops listing it, no worker claims
        it; on PostgreSQL ``by``, the worker, is recorded); its row stays for its items'
        history, and it comes back if the config does. Not ``remove``: such feeds are left
        as they are (another worker's config may list them). Returns their URLs."""
        d, p = self.dialect, self.dialect.p
        by_set = "" if d.removed_by == "NULL" else f", {d.removed_by} = {p}"
        by_clear = "" if d.removed_by == "NULL" else f", {d.removed_by} = NULL"
        feeds = list(feeds)
        with self._write() as conn:
            exact: dict[str, tuple[int, str]] = {}
            stored: dict[str, tuple[int, str]] = {}  # by identity: a canonical row, else oldest
            for row in self._rows(conn, "SELECT id, url FROM feeds ORDER BY id"):
                ident = feed_identity(row["url"])
                exact[row["url"]] = (row["id"], row["url"])
                if ident not in stored or (
                    _canonical(row["url"]) and not _canonical(stored[ident][1])
                ):
                    stored[ident] = (row["id"], row["url"])
            for feed in feeds:
                found = exact.get(feed.url) or stored.get(feed_identity(feed.url))
                row_id, url = found or (None, feed.url)
                if row_id is not None and url != feed.url:
                    self._run(
                        conn,
                        f"UPDATE feeds SET url = {p}, fetch_url = CASE WHEN fetch_url = url "
                        f"THEN {p} ELSE fetch_url END WHERE id = {p}",
                        (feed.url, feed.url, row_id),
                    )
                self._run(
                    conn,
                    f"INSERT INTO feeds (url, fetch_url, name) VALUES ({p}, {p}, {p}) "
                    "ON CONFLICT (url) DO UPDATE SET name = excluded.name, source = 'config'"
                    f"{by_clear}",
                    (feed.url, feed.url, feed.name),
                )
            configured = {feed.url for feed in feeds}
            rows = self._rows(conn, "SELECT url FROM feeds WHERE source = 'config' ORDER BY id")
            dropped = [str(row["url"]) for row in rows if row["url"] not in configured]
            for url in dropped if remove else ():
                self._run(
                    conn,
                    f"UPDATE feeds SET source = 'removed', paused = 0{by_set} WHERE url = {p}",
                    (by, url) if by_set else (url,),
                )
        return dropped

    def feed_states(self) -> dict[str, FeedState]:
        rows = self._read(f"SELECT {FEED_STATE_COLUMNS} FROM feeds")
        return {row["url"]: feed_state_from(row) for row in rows}

    def feed_state(self, url: str) -> FeedState:
        """One configured feed's state (a poll reads only its own row, not every feed's)."""
        rows = self._read(
            f"SELECT {FEED_STATE_COLUMNS} FROM feeds WHERE url = {self.dialect.p}", (url,)
        )
        if not rows:
            raise StorageError(f"{self.where}: feed {url!r} is not in the database")
        return feed_state_from(rows[0])

    def clamp_waits(self, now: datetime) -> int:
        """Feeds last polled "after" ``now`` (stored under a clock that was ahead): their
        ``retry_until`` is clamped to its own length from now and ``last_polled`` to now.
        Returns how many feeds were clamped."""
        d, p = self.dialect, self.dialect.p
        with self._write() as conn:
            rows = self._rows(
                conn,
                f"SELECT id, last_polled, retry_until FROM feeds WHERE last_polled > {p}",
                (d.time(now),),
            )
            for row in rows:
                since, wait = parse_iso(row["last_polled"]), parse_iso(row["retry_until"])
                clamped = None if wait is None else clamp_wait(wait, since, now)
                self._run(
                    conn,
                    f"UPDATE feeds SET last_polled = {p}, retry_until = {p} WHERE id = {p}",
                    (d.time(now), d.time(clamped), row["id"]),
                )
        return len(rows)

    def known_entries(
        self, feed: FeedState, entries: Sequence[Entry]
    ) -> tuple[dict[str, tuple[str, str]], set[str]]:
        """Which of ``entries`` this feed has: ``({key: (title, summary)}, {fingerprints})``."""
        d = self.dialect
        keys: dict[str, tuple[str, str]] = {}
        prints: set[str] = set()
        for chunk in chunks(entries, 400):  # SQLite's limit on parameters, with room
            among, params = d.among("key", [e.key for e in chunk])
            for row in self._read(
                f"SELECT key, title, summary FROM items WHERE feed_id = {d.p} AND {among}",
                [feed.id, *params],
            ):
                keys[row["key"]] = (row["title"], row["summary"])
            among, params = d.among("fingerprint", [e.fingerprint for e in chunk])
            for row in self._read(
                f"SELECT DISTINCT fingerprint FROM items WHERE feed_id = {d.p} AND {among}",
                [feed.id, *params],
            ):
                prints.add(row["fingerprint"])
        return keys, prints

    def expired_keys(self, feed: FeedState, entries: Sequence[Entry]) -> set[str]:
        """The keys of ``entries`` that retention deleted from ``feed`` with the same text
        (see the ``expired_keys`` table): a key reused for another story is new."""
        texts = {e.key: e.fingerprint for e in entries}
        found: set[str] = set()
        for chunk in chunks(entries, 400):  # SQLite's limit on parameters, with room
            among, params = self.dialect.among("key", [e.key for e in chunk])
            rows = self._read(
                f"SELECT key, fingerprint FROM expired_keys WHERE feed_id = {self.dialect.p} "
                f"AND {among}",
                [feed.id, *params],
            )
            found.update(r["key"] for r in rows if texts.get(r["key"]) == r["fingerprint"])
        return found

    def republished(self, feed: FeedState, fingerprints: Sequence[str]) -> set[str]:
        """Which of ``fingerprints`` this feed already has a re-publication of (an item
        stored with ``duplicate_of``)."""
        d = self.dialect
        found: set[str] = set()
        for chunk in chunks(fingerprints, 400):
            among, params = d.among("fingerprint", list(chunk))
            for row in self._read(
                f"SELECT DISTINCT fingerprint FROM items WHERE feed_id = {d.p} AND {among} "
                "AND duplicate_of IS NOT NULL",
                [feed.id, *params],
            ):
                found.add(row["fingerprint"])
        return found

    def reused_keys(
        self, feed: FeedState, keys: Sequence[str], limit: int
    ) -> dict[str, list[tuple[str, str, str]]]:
        """For each key, the latest ``limit`` of the feed's items stored under it as reused
        (``key#…``), newest first: ``{key: [(reused key, title, summary), …]}``."""
        d = self.dialect
        found: dict[str, list[tuple[str, str, str]]] = {}
        for key in keys:
            rows = self._read(
                f"SELECT key, title, summary FROM items WHERE feed_id = {d.p} "
                f"AND key{d.bytewise} > {d.p} AND key{d.bytewise} < {d.p} "
                f"ORDER BY id DESC LIMIT {int(limit)}",
                (feed.id, key + "#", key + "$"),
            )
            found[key] = [(r["key"], r["title"], r["summary"]) for r in rows]
        return found

    def topic_state(self, topic: str) -> dict[str, Any] | None:
        rows = self._read(f"SELECT state FROM topic_state WHERE topic = {self.dialect.p}", (topic,))
        if not rows:
            return None
        state = json.loads(rows[0]["state"])
        return state if isinstance(state, dict) else None

    def save_topic_states(self, states: dict[str, dict[str, Any]], now: datetime) -> None:
        p = self.dialect.p
        with self._write() as conn:
            for topic, state in states.items():
                self._run(
                    conn,
                    f"INSERT INTO topic_state (topic, state, updated) VALUES ({p}, {p}, {p}) "
                    "ON CONFLICT (topic) DO UPDATE SET state = excluded.state, "
                    "updated = excluded.updated",
                    (topic, state_json(state), self.dialect.time(now)),
                )

    def recent_hit_items(self, since: datetime) -> list[dict[str, Any]]:
        """Items that hit since ``since``, oldest first: replayed into the story grouper."""
        return self._read(
            "SELECT f.url AS feed_url, i.key, coalesce(min(h.title), i.title) AS title, "
            "coalesce(min(h.summary), i.summary) AS summary, "
            "coalesce(i.published, min(h.detected_at)) AS moment "
            "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
            f"WHERE h.detected_at >= {self.dialect.p} GROUP BY i.id, f.url "
            "ORDER BY min(h.detected_at), i.id",
            (self.dialect.time(since),),
        )


_T = TypeVar("_T")


def _canonical(url: str) -> bool:
    try:
        return canonical_feed_url(url) == url
    except ValueError:
        return False


def chunks(seq: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
