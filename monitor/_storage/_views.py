"""Reads through the ``hit_details`` view (schema version 4): hits with their item's text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .._times import iso
from ._base import StorageBase


class ViewsMixin(StorageBase):
    def hit_entries(
        self, *, topic: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Hits newest first with title, link, feed, summary and what matched (``matched`` as
        ``[[feature, weight], …]``), for the Atom feed of hits."""
        where: list[str] = ["1"]
        params: list[Any] = []
        if topic is not None:
            where.append("d.topic = ?")
            params.append(topic)
        if since is not None:
            where.append("d.detected_at >= ?")
            params.append(iso(since))
        rows = self._read(
            "SELECT d.hit_id AS id, d.topic, d.score, d.title, d.link, d.feed, d.published, "
            "d.detected_at, d.summary, d.story_id, h.matched FROM hit_details d "
            f"JOIN hits h ON h.id = d.hit_id WHERE {' AND '.join(where)} "
            "ORDER BY d.detected_at DESC, d.hit_id LIMIT ?",
            [*params, limit],
        )
        for row in rows:
            row["matched"] = json.loads(row["matched"])
        return rows
