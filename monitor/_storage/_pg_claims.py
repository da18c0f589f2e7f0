"""PostgreSQL: feeds claimed by several workers with leases (schema version 2).

A worker claims a batch of due feeds in one short transaction (``FOR UPDATE SKIP LOCKED``:
workers take disjoint batches without waiting on each other) and leases them; it polls with
no transaction open; then the poll's transaction also sets the feed's ``next_poll`` and
releases the lease (:meth:`store_poll`'s ``lease``), or :meth:`release_feed` does for a
failed or unchanged poll. A worker that dies leaves leases that run out: the feed is due
again for another worker. A release by a worker whose lease was taken over changes nothing.

``monitor run`` on PostgreSQL calls these from its claim loop (``monitor/_claimloop.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .._models import FeedState
from ._pg_base import LEASE, Conn, PostgresBase, as_text
from ._rows import FEED_STATE_COLUMNS, feed_state_from

FEED_LEASE = LEASE  # the default; ``[monitor] lease`` sets the backend's ``lease``


class PgClaimsMixin(PostgresBase):
    def claim_feeds(
        self, owner: str, now: datetime, *, limit: int = 50, lease: timedelta | None = None
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds (``next_poll`` reached, no live lease, not paused,
        removed nor gone) to ``owner`` until ``now + lease`` (default: the backend's), most
        overdue first."""
        hold = self.lease if lease is None else lease
        columns = ", ".join(f"f.{c.strip()}" for c in FEED_STATE_COLUMNS.split(","))
        with self._write() as conn:
            rows = conn.execute(
                "WITH due AS (SELECT id FROM feeds WHERE next_poll <= %s "
                "AND coalesce(lease_until, '-infinity') < %s AND paused = 0 "
                "AND source <> 'removed' AND last_status IS DISTINCT FROM 'gone' "
                "ORDER BY next_poll, id LIMIT %s "
                "FOR UPDATE SKIP LOCKED) "
                "UPDATE feeds f SET lease_until = %s, lease_owner = %s FROM due "
                f"WHERE f.id = due.id RETURNING {columns}, f.next_poll",
                (now, now, limit, now + hold, owner),
            ).fetchall()
        rows.sort(key=lambda row: (row["next_poll"], row["id"]))
        return [feed_state_from({k: as_text(v) for k, v in row.items()}) for row in rows]

    def release_feed(self, feed: FeedState, owner: str, next_poll: datetime) -> bool:
        """The poll of ``feed`` by ``owner`` is done: next due at ``next_poll``. False (and
        nothing changed) if the lease had run out and another worker holds the feed."""
        with self._write() as conn:
            return release(conn, feed.id, owner, next_poll)

    def check_in(
        self, owner: str, config: str, now: datetime, *, fresh: timedelta
    ) -> list[tuple[str, str]]:
        """``owner`` is alive and runs the config whose digest is ``config``: the other workers
        seen within ``fresh``, ``[(owner, config digest)]``. Workers not seen for a day are
        forgotten (one killed never checks out)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workers (owner, config, started_at, seen_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (owner) DO UPDATE SET "
                "config = excluded.config, seen_at = excluded.seen_at",
                (owner, config, now, now),
            )
            conn.execute("DELETE FROM workers WHERE seen_at < %s", (now - timedelta(days=1),))
            rows = conn.execute(
                "SELECT owner, config FROM workers WHERE owner <> %s AND seen_at >= %s "
                "ORDER BY owner",
                (owner, now - fresh),
            ).fetchall()
        return [(str(row["owner"]), str(row["config"])) for row in rows]

    def set_worker(self, owner: str) -> None:
        """The worker whose claims this connection makes (``monitor deliveries`` names it)."""
        self.worker = owner

    def live_workers(self, now: datetime, *, fresh: timedelta) -> list[tuple[str, str]]:
        """The workers seen within ``fresh``: ``[(owner, config digest)]``."""
        rows = self._read(
            "SELECT owner, config FROM workers WHERE seen_at >= %s ORDER BY owner",
            (now - fresh,),
        )
        return [(str(row["owner"]), str(row["config"])) for row in rows]

    def check_out(self, owner: str) -> None:
        """``owner`` stops: no longer a live worker."""
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE owner = %s", (owner,))

    def feed_leases(self) -> dict[str, tuple[str | None, str | None, str]]:
        """``{url: (owner, lease_until, next_poll)}`` (for reports and tests)."""
        return {
            row["url"]: (row["lease_owner"], row["lease_until"], row["next_poll"])
            for row in self._read("SELECT url, lease_owner, lease_until, next_poll FROM feeds")
        }


def release(conn: Conn, feed_id: int, owner: str, next_poll: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE feeds SET next_poll = %s, lease_until = NULL, lease_owner = NULL "
        "WHERE id = %s AND lease_owner = %s",
        (next_poll, feed_id, owner),
    )
    return cursor.rowcount == 1
