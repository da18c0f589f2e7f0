"""Explicit feedback on SQLite (the CLI's reports are shared: ``_reports``)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from .._errors import StorageError
from .._times import iso
from ._base import StorageBase, reason
from ._reports import ReportsMixin


class QueriesMixin(StorageBase, ReportsMixin):
    """Judgements (written here); the CLI's reports are :class:`ReportsMixin`'s."""

    def add_feedback(self, topic: str, item: dict[str, Any], relevant: bool, now: datetime) -> int:
        """Record (or replace) the judgement of ``item`` for ``topic``; return its id. A
        replacement is an UPDATE: an upsert takes a new AUTOINCREMENT number each time (a judge
        link clicked again used them up)."""
        with self._write() as conn:
            updated = conn.execute(  # (no RETURNING: SQLite before 3.35 has none)
                "UPDATE feedback SET relevant = ?, judged_at = ? WHERE topic = ? AND item_id = ?",
                (int(relevant), iso(now), topic, item["id"]),
            ).rowcount
            if not updated:  # (the write transaction holds the lock: no one else inserts)
                conn.execute(
                    "INSERT INTO feedback (topic, item_id, link, title, summary, relevant, "
                    "judged_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (topic, item["id"], item["link"], item["title"], item["summary"],
                     int(relevant), iso(now)),
                )  # fmt: skip
            row = conn.execute(
                "SELECT id FROM feedback WHERE topic = ? AND item_id = ?", (topic, item["id"])
            ).fetchone()
        return int(row[0])


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
        raise StorageError(f"{path}: cannot read the feedback: {reason(exc)}") from None
    return [
        {"topic": topic, "title": title, "summary": summary, "relevant": bool(relevant)}
        for topic, title, summary, relevant in rows
    ]
