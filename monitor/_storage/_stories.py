"""The hits other workers stored, for the story grouper (SQLite). One process writes a SQLite
file (its lock), so the story lock is nothing here; the reads are the same as PostgreSQL's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .._times import iso
from ._base import StorageBase

# The hit items after a watermark (an item id), with the story each was stored under.
HIT_ITEMS_AFTER = (
    "SELECT i.id AS item_id, f.url AS feed_url, i.key, "
    "coalesce(min(h.title), i.title) AS title, coalesce(min(h.summary), i.summary) AS summary, "
    "coalesce(i.published, min(h.detected_at)) AS moment, min(h.story_id) AS story_id "
    "FROM hits h JOIN items i ON i.id = h.item_id JOIN feeds f ON f.id = i.feed_id "
    "WHERE h.item_id > {p} AND h.detected_at >= {p} GROUP BY i.id, f.url ORDER BY i.id"
)


class StoriesMixin(StorageBase):
    @contextlib.contextmanager
    def story_lock(self) -> Iterator[None]:
        """Nothing to hold: this file has one writer."""
        yield

    def last_item_id(self) -> int:
        rows = self._read("SELECT coalesce(max(id), 0) AS id FROM items")
        return int(rows[0]["id"])

    def hit_items_after(self, item_id: int, since: datetime) -> list[dict[str, Any]]:
        """Items stored with hits after ``item_id`` (detected since ``since``), in the order
        they were stored, each with its ``item_id`` and the ``story_id`` it was stored under."""
        return self._read(HIT_ITEMS_AFTER.format(p="?"), (item_id, iso(since)))
