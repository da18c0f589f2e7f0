"""Full-text search over the stored items (the ``items_fts`` index, schema version 4)."""

from __future__ import annotations

import sqlite3
from typing import Any

from .._errors import MonitorError, StorageError
from ._base import StorageBase, reason
from ._query import fts5


class SearchMixin(StorageBase):
    def search(
        self,
        query: str,
        *,
        topic: str | None = None,
        hits_only: bool = False,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Items whose title or summary match ``query`` (``_query``'s syntax: words,
        ``"a phrase"``, ``AND``/``OR``/``NOT``, ``prefix*``, ``title:``), best match first.
        ``topic`` keeps the items whose best topic or a hit is that topic; ``hits_only`` the
        items that are hits."""
        try:
            match = fts5(query)  # the user's words quoted where FTS5 would misread them
        except ValueError as exc:
            raise not_a_query(query, str(exc)) from None
        where, params = ["items_fts MATCH ?"], [match]
        if hits_only:
            where.append("EXISTS (SELECT 1 FROM hits h WHERE h.item_id = i.id)")
        if topic is not None:
            where.append(
                "(i.topic = ? OR EXISTS (SELECT 1 FROM hits h WHERE h.item_id = i.id "
                "AND h.topic = ?))"
            )
            params += [topic, topic]
        sql = (
            "SELECT i.id AS item_id, i.title, i.link, f.name AS feed, f.url AS feed_url, "
            "i.published, i.first_seen, "
            "round(i.score, 3) AS score, i.topic, "
            "(SELECT group_concat(h.id, ' ') FROM hits h WHERE h.item_id = i.id) AS hits, "
            "snippet(items_fts, 1, '[', ']', '…', 12) AS snippet "
            "FROM items_fts JOIN items i ON i.id = items_fts.rowid "
            "JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} ORDER BY items_fts.rank, i.id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            cursor = self.conn.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]
        except sqlite3.OperationalError as exc:
            if not any(word in str(exc) for word in _NOT_THE_QUERY):
                raise not_a_query(query, str(exc)) from None
            raise StorageError(f"{self.path}: {reason(exc)}") from None
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {reason(exc)}") from None


def not_a_query(query: str, reason: str) -> MonitorError:
    return MonitorError(
        f"search {query!r}: not a valid full-text query ({reason}); use words, "
        '"a phrase", AND, OR, NOT, (…), prefix* or put the whole query in quotes'
    )


# sqlite3 reports a bad MATCH expression as an OperationalError, like these, which are not
_NOT_THE_QUERY = ("locked", "disk", "malformed", "not a database", "no such table", "readonly")
