"""The email digests' side of the outbox, on both backends (SQLite schema 4's and
PostgreSQL schema 7's ``digests`` table; ``deliveries.digest``). On PostgreSQL one worker at a
time sends a digest (:meth:`digest_lock`); SQLite has one process per file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from .._times import parse_iso
from ._dialect import SqlMixin
from ._outbox_shared import DELIVERY_COLUMNS, delivery_from
from ._rows import Delivery


class DigestsMixin(SqlMixin):
    @contextmanager
    def digest_lock(self) -> Iterator[bool]:
        """Whether this process may send a digest now (SQLite: always; PostgreSQL: unless
        another worker is sending one), held until the block ends."""
        yield True

    def last_digest(self) -> datetime | None:
        rows = self._read("SELECT max(sent_at) AS t FROM digests")
        return parse_iso(rows[0]["t"]) if rows else None

    def oldest_pending(self, channel: str) -> datetime | None:
        """When the oldest hit still waiting on ``channel`` (in no digest yet) was detected."""
        rows = self._read(
            "SELECT min(h.detected_at) AS t FROM deliveries d JOIN hits h ON h.id = d.hit_id "
            f"WHERE d.channel = {self.dialect.p} AND d.status = 'pending' AND d.digest IS NULL",
            (channel,),
        )
        return parse_iso(rows[0]["t"]) if rows else None

    def mark_digest(
        self, delivery_ids: Sequence[int], ident: str, until: datetime | None = None
    ) -> None:
        """The rows of digest ``ident``, about to be sent: if the send fails, or the process
        dies before the server's answer is recorded, the same rows go again under ``ident``
        (not before ``until``, when given: the send may still be in flight till then)."""
        p = self.dialect.p
        with self._write() as conn:
            if until is None:
                self._run_many(
                    conn,
                    f"UPDATE deliveries SET digest = {p} WHERE id = {p}",
                    [(ident, i) for i in delivery_ids],
                )
                return
            held = self.dialect.time(until)
            self._run_many(
                conn,
                f"UPDATE deliveries SET digest = {p}, next_attempt = {p} WHERE id = {p}",
                [(ident, held, i) for i in delivery_ids],
            )

    def digest_deliveries(
        self, channel: str, ident: str | None, now: datetime, *, limit: int | None
    ) -> list[Delivery]:
        """The due rows of digest ``ident`` (all of them), or with ``None`` the due rows in no
        digest yet (oldest first, ``limit`` at most), on an enabled ``channel``."""
        p = self.dialect.p
        in_digest = "d.digest IS NULL" if ident is None else f"d.digest = {p}"
        rows = self._read(
            f"SELECT {DELIVERY_COLUMNS} LEFT JOIN channels c ON c.name = d.channel "
            f"WHERE d.status = 'pending' AND d.next_attempt <= {p} AND d.channel = {p} "
            f"AND {in_digest} AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id"
            + ("" if limit is None else f" LIMIT {p}"),
            (
                self.dialect.time(now),
                channel,
                *(() if ident is None else (ident,)),
                *(() if limit is None else (limit,)),
            ),
        )
        return [delivery_from(row) for row in rows]

    def tried_digest(self, channel: str) -> tuple[str, datetime | None, int] | None:
        """The digest tried before whose rows are still pending (the one due first):
        ``(its id, when all of it is due again, its rows)``; None when there is none."""
        rows = self._read(
            "SELECT digest, max(next_attempt) AS t, count(*) AS n FROM deliveries "
            f"WHERE channel = {self.dialect.p} AND status = 'pending' AND digest IS NOT NULL "
            "GROUP BY digest ORDER BY t LIMIT 1",
            (channel,),
        )
        return (rows[0]["digest"], parse_iso(rows[0]["t"]), int(rows[0]["n"])) if rows else None

    def record_digest(self, ident: str, delivery_ids: Sequence[int], now: datetime) -> None:
        """The digest ``ident`` was accepted: its deliveries are delivered, in one transaction."""
        p = self.dialect.p
        stamp = self.dialect.time(now)
        with self._write() as conn:
            self._run_many(
                conn,
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, "
                f"last_attempt = {p}, last_error = NULL, next_attempt = NULL, "
                f"delivered_at = {p} WHERE id = {p} AND digest = {p}",  # (not one requeued
                [(stamp, stamp, i, ident) for i in delivery_ids],  # meanwhile: it goes again)
            )
            self._run(
                conn,
                f"INSERT INTO digests (id, sent_at, deliveries) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (id) DO UPDATE SET sent_at = excluded.sent_at",
                (ident, stamp, len(delivery_ids)),
            )
