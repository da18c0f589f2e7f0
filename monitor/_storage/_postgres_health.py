"""Feed health changes and their alerts' outbox on PostgreSQL (see ``_feed_events``; schema
3). A change is recorded under a per-feed advisory lock, so two processes record it once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .._times import iso, parse_iso
from ._feed_events import event_alert, event_id
from ._pg_base import PostgresBase
from ._rows import Delivery

_LATEST = (
    "SELECT feed_url, state FROM feed_events e "
    "WHERE seq = (SELECT max(seq) FROM feed_events WHERE feed_url = e.feed_url)"
)


class PgHealthMixin(PostgresBase):
    def health_states(self) -> dict[str, str]:
        return {row["feed_url"]: row["state"] for row in self._read(_LATEST)}

    def record_health(
        self,
        feed_url: str,
        feed: str,
        state: str,
        *,
        title: str,
        detail: str,
        now: datetime,
        channels: Sequence[str],
    ) -> str | None:
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (feed_url,))
            row = conn.execute(
                "SELECT state FROM feed_events WHERE feed_url = %s ORDER BY seq DESC LIMIT 1",
                (feed_url,),
            ).fetchone()
            previous = str(row["state"]) if row else "ok"
            if previous == state:
                return None
            ident = event_id(feed_url, state, iso(now) or "")
            conn.execute(
                "INSERT INTO feed_events (id, feed_url, feed, state, previous, title, detail, "
                "at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (ident, feed_url, feed, state, previous, title, detail, now),
            )
            for channel in channels:
                conn.execute(
                    "INSERT INTO feed_event_deliveries (event_id, channel, status, next_attempt) "
                    "VALUES (%s, %s, 'pending', %s)",
                    (ident, channel, now),
                )
        return ident

    def due_health_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, e.id, e.feed_url, e.feed, "
            "e.title, e.detail, e.at FROM feed_event_deliveries d "
            "JOIN feed_events e ON e.id = d.event_id LEFT JOIN channels c ON c.name = d.channel "
            "WHERE d.status = 'pending' AND d.next_attempt <= %s AND d.channel = ANY(%s) "
            "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT %s",
            (now, list(channels), limit),
        )
        return [
            Delivery(row["delivery_id"], row["channel"], row["attempts"], event_alert(row),
                     event=True)
            for row in rows
        ]  # fmt: skip

    def next_health_attempt(self, channels: Sequence[str]) -> datetime | None:
        rows = self._read(
            "SELECT min(next_attempt) AS t FROM feed_event_deliveries d LEFT JOIN channels c "
            "ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at IS NULL "
            "AND d.channel = ANY(%s)",
            (list(channels),),
        )
        return parse_iso(rows[0]["t"]) if rows else None

    def record_health_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        with self._write() as conn:
            conn.execute(
                "UPDATE feed_event_deliveries SET status = %s, attempts = attempts + 1, "
                "last_attempt = %s, last_error = %s, next_attempt = %s, delivered_at = %s "
                "WHERE id = %s",
                (status, now, error, retry_at, now if error is None else None, delivery_id),
            )

    def health_events(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._read(
            "SELECT id, feed_url, feed, state, previous, title, detail, at FROM feed_events "
            "ORDER BY seq DESC LIMIT %s",
            (limit,),
        )
