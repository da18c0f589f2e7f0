"""SQLite's side of the feeds (``_feeds_shared`` has the rest): no leases (one process per
file), and the state save in one write transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .._times import iso
from ._base import StorageBase
from ._feeds_shared import SharedFeedsMixin
from ._noclaims import no_leases
from ._rows import TopicUpdate, state_json, state_keys


class FeedsMixin(StorageBase, SharedFeedsMixin):
    def _check_lease(self, lease: tuple[str, datetime] | None) -> None:
        no_leases(lease)  # one process per file: nothing is claimed

    def _release_lease(self, conn: Any, feed_id: int, lease: tuple[str, datetime] | None) -> None:
        """Nothing to release (see :meth:`_check_lease`)."""

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
