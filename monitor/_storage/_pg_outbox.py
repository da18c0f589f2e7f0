"""PostgreSQL: taking the outbox's due rows (the rest is ``_outbox_shared``). Several workers
share it: due rows are
claimed with ``FOR UPDATE SKIP LOCKED`` and leased (their next attempt moved ahead by
:data:`CLAIM_LEASE`, ``claimed_by`` the worker, until the attempt's outcome is recorded) in
one short transaction, so no two workers send the same row at once;
a worker that dies mid-send leaves a row that falls due again when its lease runs out (and
goes out again under the same id: the hit id is the webhook-id). Feed health alerts
(``feed_event_deliveries``) are claimed the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._feed_events import event_alert
from ._outbox_shared import DELIVERY_COLUMNS, SharedOutboxMixin, delivery_from
from ._pg_base import LEASE, PostgresBase
from ._pg_notify import notify_outbox
from ._rows import Delivery

CLAIM_LEASE = LEASE  # the default ([monitor] lease): longer than a send's deadline and queueing


class PgOutboxMixin(PostgresBase, SharedOutboxMixin):
    def _outbox_changed(self, conn: Any) -> None:
        notify_outbox(conn)  # the workers' deliverers look at once

    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries for this worker (see the module's note)."""
        ids = self._claim("deliveries", now, channels, limit)
        if not ids:
            return []
        rows = self._read(f"SELECT {DELIVERY_COLUMNS} WHERE d.id = ANY(%s)", (ids,))
        order = {ident: n for n, ident in enumerate(ids)}
        rows.sort(key=lambda row: order[row["delivery_id"]])
        return [delivery_from(row) for row in rows]

    def due_health_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        """Claim up to ``limit`` due feed health alerts for this worker, as hits' are claimed
        (each worker's deliverer read them unclaimed, and every worker sent each one)."""
        ids = self._claim("feed_event_deliveries", now, channels, limit)
        if not ids:
            return []
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, e.id, e.feed_url, e.feed, "
            "e.title, e.detail, e.at FROM feed_event_deliveries d "
            "JOIN feed_events e ON e.id = d.event_id WHERE d.id = ANY(%s) "
            "ORDER BY d.next_attempt, d.id",
            (ids,),
        )
        return [
            Delivery(row["delivery_id"], row["channel"], row["attempts"], event_alert(row),
                     event=True)
            for row in rows
        ]  # fmt: skip

    def _claim(self, table: str, now: datetime, channels: Sequence[str], limit: int) -> list[int]:
        """Up to ``limit`` due rows of an outbox ``table`` (hits' or feed health alerts'),
        taken for this worker in one short transaction: locked rows skipped, the taken ones'
        next attempt moved a lease ahead (see the module's note)."""
        with self._write() as conn:
            claimed = conn.execute(
                f"SELECT d.id FROM {table} d LEFT JOIN channels c ON c.name = d.channel "
                "WHERE d.status = 'pending' AND d.next_attempt <= %s AND d.channel = ANY(%s) "
                "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT %s "
                "FOR UPDATE OF d SKIP LOCKED".encode(),
                (now, list(channels), limit),
            ).fetchall()
            ids = [int(row["id"]) for row in claimed]
            if ids:
                conn.execute(
                    f"UPDATE {table} SET next_attempt = %s, claimed_by = %s "
                    "WHERE id = ANY(%s)".encode(),
                    (now + self.lease, self.worker, ids),
                )
        return ids
