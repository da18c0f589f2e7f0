"""PostgreSQL: the outbox (twin of ``_outbox``). Several workers share it: due rows are
claimed with ``FOR UPDATE SKIP LOCKED`` and leased (their next attempt moved ahead by
:data:`CLAIM_LEASE`) in one short transaction, so no two workers send the same row at once;
a worker that dies mid-send leaves a row that falls due again when its lease runs out (and
goes out again under the same id: the hit id is the webhook-id)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from .._decide import clamp_wait
from .._times import parse_iso
from ._pg_base import LEASE, PostgresBase
from ._pg_notify import notify_outbox
from ._rows import Delivery, alert_from

CLAIM_LEASE = LEASE  # the default ([monitor] lease): longer than a send's deadline and queueing


class PgOutboxMixin(PostgresBase):
    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries for this worker (see the module's note)."""
        with self._write() as conn:
            claimed = conn.execute(
                "SELECT d.id FROM deliveries d LEFT JOIN channels c ON c.name = d.channel "
                "WHERE d.status = 'pending' AND d.next_attempt <= %s AND d.channel = ANY(%s) "
                "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT %s "
                "FOR UPDATE OF d SKIP LOCKED",
                (now, list(channels), limit),
            ).fetchall()
            ids = [row["id"] for row in claimed]
            if ids:
                conn.execute(
                    "UPDATE deliveries SET next_attempt = %s WHERE id = ANY(%s)",
                    (now + self.lease, ids),
                )
        if not ids:
            return []
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, d.recipients, h.id, h.topic, "
            "h.score, h.matched, h.detected_at, h.story_id, "
            "coalesce(h.title, i.title) AS title, coalesce(h.summary, i.summary) AS summary, "
            "coalesce(h.link, i.link) AS link, i.published, f.name AS feed, f.url AS feed_url "
            "FROM deliveries d JOIN hits h ON h.id = d.hit_id JOIN items i ON i.id = h.item_id "
            "JOIN feeds f ON f.id = i.feed_id WHERE d.id = ANY(%s) ORDER BY d.id",
            (ids,),
        )
        order = {ident: n for n, ident in enumerate(ids)}
        rows.sort(key=lambda row: order[row["delivery_id"]])
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
        found = self._read(
            "SELECT min(next_attempt) AS t FROM deliveries d LEFT JOIN channels c "
            "ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at IS NULL "
            "AND d.channel = ANY(%s)",
            (list(channels),),
        )
        return parse_iso(found[0]["t"]) if found else None

    def clamp_delivery_waits(self, now: datetime) -> int:
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, last_attempt, next_attempt FROM deliveries WHERE status = "
                "'pending' AND next_attempt > %s AND (last_attempt IS NULL OR last_attempt > %s)",
                (now, now),
            ).fetchall()
            for row in rows:
                since, until = row["last_attempt"], row["next_attempt"]
                conn.execute(
                    "UPDATE deliveries SET next_attempt = %s, last_attempt = %s WHERE id = %s",
                    (clamp_wait(until, since, now), min(since, now) if since else None,
                     row["id"]),
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
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        owed = None if remaining is None or error is None else json.dumps(list(remaining))
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET status = %s, attempts = attempts + 1, "
                "last_attempt = %s, last_error = %s, next_attempt = %s, delivered_at = %s, "
                "recipients = coalesce(%s, recipients) WHERE id = %s",
                (status, now, error, retry_at, now if error is None else None, owed,
                 delivery_id),
            )  # fmt: skip

    def disable_channel(self, channel: str, target: str, now: datetime, reason: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO channels (name, target, disabled_at, reason) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                "target = excluded.target, disabled_at = excluded.disabled_at, "
                "reason = excluded.reason",
                (channel, target, now, reason),
            )

    def enable_changed_channels(self, targets: Mapping[str, str]) -> None:
        with self._write() as conn:
            for row in conn.execute(b"SELECT name, target FROM channels").fetchall():
                if targets.get(row["name"], row["target"]) != row["target"]:
                    conn.execute("DELETE FROM channels WHERE name = %s", (row["name"],))

    def disabled_channels(self) -> dict[str, str]:
        return {
            row["name"]: row["reason"] for row in self._read("SELECT name, reason FROM channels")
        }

    def requeue(self, ident: str, now: datetime) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt = %s, attempts = 0, "
                "recipients = NULL WHERE hit_id = %s OR id::text = %s",
                (now, ident, ident),
            )
            if cursor.rowcount:
                notify_outbox(conn)  # the workers' deliverers look at once
            return cursor.rowcount
