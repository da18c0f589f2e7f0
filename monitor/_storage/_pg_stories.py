"""Story grouping across workers (PostgreSQL): the story lock and the hits stored since a
worker last looked.

A worker groups a poll's hits and stores them holding one session-level advisory lock, after
reading the hits the other workers stored since it last looked (``hit_items_after``): the
decision that a hit opens a new story (and alerts) is taken with every earlier hit known, so
two copies of one story polled by two workers at once alert once. The lock is held for the
grouping and the poll's transaction only, and only by polls that have hits; a connection
lost meanwhile takes the lock with it (the store then fails and the poll is retried).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg

from .._errors import StorageError
from ._pg_base import PostgresBase, reason
from ._stories import HIT_ITEMS_AFTER

_STORY_LOCK = 0x6D6F6E73  # pg_advisory_lock key of story grouping ("mons")


class PgStoriesMixin(PostgresBase):
    # How long a poll waits for the story lock before it fails (a StorageError: the poll is
    # retried): far more than any poll's store takes, but a worker that hangs holding the
    # lock (a frozen process, a stalled network) does not stop every other worker's hits.
    story_wait = 30.0

    @contextlib.contextmanager
    def story_lock(self) -> Iterator[None]:
        """Hold the story lock: one worker at a time groups and stores hits."""
        conn = self._live()
        try:
            with conn.transaction():  # a session lock: held after this commits
                wait = f"{int(self.story_wait * 1000)}ms"
                conn.execute("SELECT set_config('lock_timeout', %s, true)", (wait,))
                conn.execute("SELECT pg_advisory_lock(%s)", (_STORY_LOCK,))
        except psycopg.Error as exc:
            raise StorageError(f"{self._where}: story lock: {reason(exc)}") from None
        try:
            yield
        finally:
            if not conn.broken and not conn.closed:  # a lost session lost its lock too
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_STORY_LOCK,))
                except psycopg.Error as exc:
                    raise StorageError(f"{self._where}: {reason(exc)}") from None

    def last_item_id(self) -> int:
        rows = self._read("SELECT coalesce(max(id), 0) AS id FROM items")
        return int(rows[0]["id"])

    def hit_items_after(self, item_id: int, since: datetime) -> list[dict[str, Any]]:
        return self._read(HIT_ITEMS_AFTER.format(p="%s"), (item_id, since))
