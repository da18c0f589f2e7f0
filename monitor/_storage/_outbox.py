"""The outbox: alerts waiting to be delivered, attempts, disabled channels, redelivery."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from .._decide import clamp_wait
from .._times import iso, parse_iso
from ._base import StorageBase
from ._rows import Delivery, alert_from


class OutboxMixin(StorageBase):
    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        marks = ",".join("?" * len(channels))
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, d.recipients, h.id, h.topic, "
            "h.score, "
            "h.matched, h.detected_at, h.story_id, coalesce(h.title, i.title) AS title, "
            "coalesce(h.summary, i.summary) AS summary, coalesce(h.link, i.link) AS link, "
            "i.published, "
            "f.name AS feed, f.url AS feed_url FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id "
            "JOIN feeds f ON f.id = i.feed_id "
            "LEFT JOIN channels c ON c.name = d.channel "
            f"WHERE d.status = 'pending' AND d.next_attempt <= ? AND d.channel IN ({marks}) "
            "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT ?",
            (iso(now), *channels, limit),
        )
        return [
            Delivery(
                row["delivery_id"],
                row["channel"],
                row["attempts"],
                alert_from(row),
                None if row["recipients"] is None else tuple(json.loads(row["recipients"])),
            )
            for row in rows
        ]

    def next_attempt(self, channels: Sequence[str]) -> datetime | None:
        marks = ",".join("?" * len(channels))
        rows = self._read(
            "SELECT min(next_attempt) AS t FROM deliveries d LEFT JOIN channels c "
            "ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at "
            f"IS NULL AND d.channel IN ({marks})",
            channels,
        )
        return parse_iso(rows[0]["t"]) if rows else None

    def clamp_delivery_waits(self, now: datetime) -> int:
        """Pending deliveries whose next attempt lies further ahead than its own wait (stored
        under a clock that was ahead): clamped to that wait from now. Returns how many."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, last_attempt, next_attempt FROM deliveries WHERE status = "
                "'pending' AND next_attempt > ? AND (last_attempt IS NULL OR last_attempt > ?)",
                (iso(now), iso(now)),
            ).fetchall()
            for delivery_id, last, due in rows:
                since, until = parse_iso(last), parse_iso(due)
                assert until is not None
                conn.execute(
                    "UPDATE deliveries SET next_attempt = ?, last_attempt = ? WHERE id = ?",
                    (iso(clamp_wait(until, since, now)), iso(min(since, now) if since else None),
                     delivery_id),
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
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        owed = None if remaining is None or error is None else json.dumps(list(remaining))
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_attempt = ?, "
                "last_error = ?, next_attempt = ?, delivered_at = ?, "
                "recipients = coalesce(?, recipients) WHERE id = ?",
                (
                    status,
                    iso(now),
                    error,
                    iso(retry_at),
                    iso(now) if error is None else None,
                    owed,
                    delivery_id,
                ),
            )

    def disable_channel(self, channel: str, target: str, now: datetime, reason: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO channels (name, target, disabled_at, reason) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "target = excluded.target, disabled_at = excluded.disabled_at, "
                "reason = excluded.reason",
                (channel, target, iso(now), reason),
            )

    def enable_changed_channels(self, targets: Mapping[str, str]) -> None:
        """A channel disabled by a 410 stays disabled until the config points it elsewhere."""
        with self._write() as conn:
            for row in conn.execute("SELECT name, target FROM channels").fetchall():
                if targets.get(row[0], row[1]) != row[1]:
                    conn.execute("DELETE FROM channels WHERE name = ?", (row[0],))

    def disabled_channels(self) -> dict[str, str]:
        return {
            row["name"]: row["reason"] for row in self._read("SELECT name, reason FROM channels")
        }

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: one process per file (its lock); ``monitor redeliver`` from
        another process is found by the deliverer's look at the outbox (``outbox_poll``)."""

    def requeue(self, ident: str, now: datetime) -> int:
        """Queue again the deliveries of a hit id or a delivery id; return how many."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt = ?, attempts = 0, "
                "recipients = NULL "
                "WHERE hit_id = ? OR CAST(id AS TEXT) = ?",
                (iso(now), ident, ident),
            )
            return cursor.rowcount
