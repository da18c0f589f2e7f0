"""The outbox on both backends: alerts waiting to be delivered, attempts, disabled channels,
redelivery. Only taking the due rows differs (``_outbox``'s plain read on SQLite, one process
per file; ``_pg_outbox``'s claims on PostgreSQL, several workers)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .._decide import clamp_wait
from .._times import parse_iso
from ._dialect import SqlMixin
from ._rows import HIT_PUBLISHED, Delivery, alert_from

# The hit and item columns of a delivery, for :func:`delivery_from`.
DELIVERY_COLUMNS = (
    "d.id AS delivery_id, d.channel, d.attempts, d.recipients, d.digest, h.id, "
    "h.topic, h.score, "
    "h.matched, h.detected_at, h.story_id, coalesce(h.title, i.title) AS title, "
    "coalesce(h.summary, i.summary) AS summary, coalesce(h.link, i.link) AS link, "
    f"{HIT_PUBLISHED}, f.name AS feed, f.url AS feed_url FROM deliveries d "
    "JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id "
    "JOIN feeds f ON f.id = i.feed_id"
)


def delivery_from(row: dict[str, Any]) -> Delivery:
    recipients = row["recipients"]
    return Delivery(
        row["delivery_id"],
        row["channel"],
        row["attempts"],
        alert_from(row),
        None if recipients is None else tuple(json.loads(recipients)),
        digest=row["digest"],
    )


class SharedOutboxMixin(SqlMixin):
    def _outbox_changed(self, conn: Any) -> None:
        """Inside a transaction that made rows due: tell whoever delivers (a backend's hook)."""

    def next_attempt(self, channels: Sequence[str]) -> datetime | None:
        among, params = self.dialect.among("d.channel", channels)
        rows = self._read(
            "SELECT min(next_attempt) AS t FROM deliveries d LEFT JOIN channels c "
            f"ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at IS NULL "
            f"AND {among}",
            params,
        )
        return parse_iso(rows[0]["t"]) if rows else None

    claim_margin = timedelta(0)  # how far ahead a claim sets a delivery's next attempt

    def clamp_delivery_waits(self, now: datetime) -> int:
        """Pending deliveries whose next attempt lies further ahead than its own wait (stored
        under a clock that was ahead): clamped to that wait from now. Returns how many. A
        delivery never attempted has no wait of its own, but a worker that claimed it (on
        PostgreSQL) holds it one ``claim_margin`` ahead: only what lies beyond is clamped."""
        d, p = self.dialect, self.dialect.p
        with self._write() as conn:
            rows = self._rows(
                conn,
                "SELECT id, last_attempt, next_attempt FROM deliveries WHERE status = 'pending' "
                f"AND ((last_attempt IS NULL AND next_attempt > {p}) OR "
                f"(next_attempt > {p} AND last_attempt > {p}))",
                (d.time(now + self.claim_margin), d.time(now), d.time(now)),
            )
            for row in rows:
                since, until = parse_iso(row["last_attempt"]), parse_iso(row["next_attempt"])
                assert until is not None
                self._run(
                    conn,
                    f"UPDATE deliveries SET next_attempt = {p}, last_attempt = {p} WHERE id = {p}",
                    (d.time(clamp_wait(until, since, now)),
                     d.time(min(since, now) if since else None), row["id"]),
                )  # fmt: skip
        return len(rows)

    def record_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        remaining: Sequence[str] | None = None,
    ) -> None:
        """Record one attempt: delivered (no error), to retry at ``retry_at`` (for the
        ``remaining`` recipients only, when given), or failed."""
        d, p = self.dialect, self.dialect.p
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        owed = None if remaining is None or error is None else json.dumps(list(remaining))
        self._execute(
            f"UPDATE deliveries SET status = {p}, attempts = attempts + 1, last_attempt = {p}, "
            f"last_error = {p}, next_attempt = {p}, delivered_at = {p}, "
            f"recipients = coalesce({p}, recipients){d.unclaim} WHERE id = {p}",
            (status, d.time(now), error, d.time(retry_at),
             d.time(now) if error is None else None, owed, delivery_id),
        )  # fmt: skip

    def disable_channel(self, channel: str, target: str, now: datetime, reason: str) -> None:
        p = self.dialect.p
        self._execute(
            "INSERT INTO channels (name, target, disabled_at, reason) "
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (name) DO UPDATE SET "
            "target = excluded.target, disabled_at = excluded.disabled_at, "
            "reason = excluded.reason",
            (channel, target, self.dialect.time(now), reason),
        )

    def enable_changed_channels(self, targets: Mapping[str, str]) -> None:
        """A channel disabled by a 410 stays disabled until the config points it elsewhere."""
        with self._write() as conn:
            for row in self._rows(conn, "SELECT name, target FROM channels"):
                if targets.get(row["name"], row["target"]) != row["target"]:
                    self._run(
                        conn, f"DELETE FROM channels WHERE name = {self.dialect.p}", (row["name"],)
                    )

    def disabled_channels(self) -> dict[str, str]:
        return {
            row["name"]: row["reason"] for row in self._read("SELECT name, reason FROM channels")
        }

    def pending_channels(self) -> dict[str, int]:
        """Alerts waiting to be sent (hits' and feed health changes'), counted by channel."""
        return {
            row["channel"]: int(row["n"])
            for row in self._read(
                "SELECT channel, count(*) AS n FROM (SELECT channel FROM deliveries "
                "WHERE status = 'pending' UNION ALL SELECT channel FROM feed_event_deliveries "
                "WHERE status = 'pending') waiting GROUP BY channel"
            )
        }

    def requeue(self, ident: str, now: datetime) -> int:
        """Queue again the deliveries of a hit id, a delivery id or a feed health alert's id
        (``health_…``); return how many."""
        p = self.dialect.p
        with self._write() as conn:
            if ident.startswith("health_"):
                count = self._run(
                    conn,
                    f"UPDATE feed_event_deliveries SET status = 'pending', next_attempt = {p}, "
                    f"attempts = 0, delivered_at = NULL WHERE event_id = {p}",
                    (self.dialect.time(now), ident),
                )
            else:
                count = self._run(
                    conn,
                    # still owed to some recipients only (refused by the server): to them
                    f"UPDATE deliveries SET status = 'pending', next_attempt = {p}, attempts = 0, "
                    "recipients = CASE WHEN status = 'delivered' THEN NULL ELSE recipients END, "
                    "delivered_at = NULL, digest = NULL "
                    f"WHERE hit_id = {p} "
                    f"OR CAST(id AS TEXT) = {p}",
                    (self.dialect.time(now), ident, ident),
                )
            if count:
                self._outbox_changed(conn)
        return count
