"""What adaptive polling needs from PostgreSQL (see ``_pace``): the same three methods over
the ``feeds.next_poll`` column that schema 2 added for the feed leases (``_pg_claims``)."""

from __future__ import annotations

from datetime import UTC, datetime

from .._models import FeedState
from .._times import parse_iso
from ._pg_base import PostgresBase

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the column's default: no next poll decided yet


class PgPaceMixin(PostgresBase):
    def entry_frequency(self, feed: FeedState, since: datetime) -> int | None:
        rows = self._read(
            "SELECT count(*) AS n, EXISTS (SELECT 1 FROM items WHERE feed_id = %s "
            "AND published IS NOT NULL) AS dated FROM items "
            "WHERE feed_id = %s AND published >= %s",
            (feed.id, feed.id, since),
        )
        return int(rows[0]["n"]) if rows[0]["dated"] else None

    def record_next_poll(self, feed: FeedState, next_poll: datetime) -> None:
        with self._write() as conn:
            conn.execute("UPDATE feeds SET next_poll = %s WHERE id = %s", (next_poll, feed.id))

    def next_polls(self) -> dict[str, datetime]:
        rows = self._read("SELECT url, next_poll FROM feeds WHERE next_poll > %s", (_NEVER,))
        return {row["url"]: moment for row in rows if (moment := parse_iso(row["next_poll"]))}
