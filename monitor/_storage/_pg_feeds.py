"""PostgreSQL's side of the feeds (``_feeds_shared`` has the rest): a claimed feed's lease,
released in its poll's outcome transaction, and the merging state save (rows locked)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._feeds_shared import SharedFeedsMixin
from ._pg_base import PostgresBase
from ._pg_claims import release
from ._rows import TopicUpdate, state_json, state_keys


class PgFeedsMixin(PostgresBase, SharedFeedsMixin):
    def _check_lease(self, lease: tuple[str, datetime] | None) -> None:
        """Any lease is fine: it is released in the outcome's transaction."""

    def _release_lease(self, conn: Any, feed_id: int, lease: tuple[str, datetime] | None) -> None:
        """A claimed feed's lease ends with its poll's outcome: next due at ``next_poll``."""
        if lease is not None:
            release(conn, feed_id, *lease)

    def update_topic_states(
        self,
        topics: Sequence[str],
        update: TopicUpdate,
        now: datetime,
        *,
        only: Sequence[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Read, change and write each topic's state in ONE transaction, its row locked
        (``FOR UPDATE``) from the read to the commit: another worker's save of the same topic
        waits, then reads what this one wrote. Rows are created first (``DO NOTHING``), in
        the topics' order, so that a topic's first two saves cannot both insert. ``only``:
        ``update`` gets just those keys of the stored state (workers merge whole states, so
        here they are picked from it)."""
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
                old = state_keys(stored.get(topic), only)
                written[topic] = state = update(topic, old)
                conn.execute(
                    "UPDATE topic_state SET state = %s, updated = %s WHERE topic = %s",
                    (state_json(state), now, topic),
                )
        return written
