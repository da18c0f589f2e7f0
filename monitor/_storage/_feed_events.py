"""Feed health changes and their alerts' outbox, on both backends: a change is recorded once,
with its deliveries, in one transaction (two processes that see it at once take turns on
the feed: ``_serialise``); the deliverer takes them like the hits' (``_outbox``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .._models import Alert
from .._redact import redact_url
from .._times import iso, parse_iso
from ._dialect import SqlMixin
from ._rows import Delivery

HEALTH_TOPIC = "feed-health"  # the topic health alerts carry (email subject, webhook "topic")

_LATEST = (
    "SELECT feed_url, state FROM feed_events e "
    "WHERE seq = (SELECT max(seq) FROM feed_events WHERE feed_url = e.feed_url)"
)


def event_id(feed_url: str, state: str, at: str) -> str:
    digest = hashlib.sha256(f"{feed_url}\n{state}\n{at}".encode()).hexdigest()
    return f"health_{digest[:24]}"


def event_alert(row: dict[str, Any]) -> Alert:
    """A health change as an :class:`Alert` every sender can send (kind ``feed_health``)."""
    at = parse_iso(row["at"])
    assert at is not None
    return Alert(
        id=row["id"],
        topic=HEALTH_TOPIC,
        score=0.0,
        title=row["title"],
        summary=row["detail"],
        link=redact_url(row["feed_url"]),
        feed=row["feed"],
        feed_url=redact_url(row["feed_url"]),
        published=None,
        detected_at=at,
        matched=(),
        kind="feed_health",
    )


class FeedEventsMixin(SqlMixin):
    def health_states(self) -> dict[str, str]:
        """``{feed url: its last reported health state}`` (no row: never reported, ``ok``)."""
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
        """Record that the feed's health is now ``state`` and queue its alert on ``channels``
        (none: only recorded), in one transaction; None when that was already its state (a
        second process, a repeated check): nothing recorded, nothing sent twice."""
        d, p = self.dialect, self.dialect.p
        stamp = iso(now)
        assert stamp is not None
        with self._write() as conn:
            self._serialise(conn, feed_url)
            rows = self._rows(
                conn,
                f"SELECT state FROM feed_events WHERE feed_url = {p} ORDER BY seq DESC LIMIT 1",
                (feed_url,),
            )
            previous = str(rows[0]["state"]) if rows else "ok"
            if previous == state:
                return None
            ident = event_id(feed_url, state, stamp)
            self._run(
                conn,
                "INSERT INTO feed_events (id, feed_url, feed, state, previous, title, detail, "
                f"at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                (ident, feed_url, feed, state, previous, title, detail, d.time(now)),
            )
            for channel in channels:
                self._run(
                    conn,
                    "INSERT INTO feed_event_deliveries (event_id, channel, status, next_attempt) "
                    f"VALUES ({p}, {p}, 'pending', {p})",
                    (ident, channel, d.time(now)),
                )
        return ident

    def due_health_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        d = self.dialect
        among, params = d.among("d.channel", channels)
        rows = self._read(
            "SELECT d.id AS delivery_id, d.channel, d.attempts, e.id, e.feed_url, e.feed, "
            "e.title, e.detail, e.at FROM feed_event_deliveries d "
            "JOIN feed_events e ON e.id = d.event_id LEFT JOIN channels c ON c.name = d.channel "
            f"WHERE d.status = 'pending' AND d.next_attempt <= {d.p} AND {among} "
            f"AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT {d.p}",
            (d.time(now), *params, limit),
        )
        return [
            Delivery(row["delivery_id"], row["channel"], row["attempts"], event_alert(row),
                     event=True)
            for row in rows
        ]  # fmt: skip

    def next_health_attempt(self, channels: Sequence[str]) -> datetime | None:
        among, params = self.dialect.among("d.channel", channels)
        rows = self._read(
            "SELECT min(next_attempt) AS t FROM feed_event_deliveries d LEFT JOIN channels c "
            f"ON c.name = d.channel WHERE d.status = 'pending' AND c.disabled_at IS NULL "
            f"AND {among}",
            params,
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
        """One attempt: delivered (no error), to retry at ``retry_at``, or failed."""
        d, p = self.dialect, self.dialect.p
        status = "delivered" if error is None else ("pending" if retry_at else "failed")
        self._execute(
            f"UPDATE feed_event_deliveries SET status = {p}, attempts = attempts + 1, "
            f"last_attempt = {p}, last_error = {p}, next_attempt = {p}, delivered_at = {p}"
            f"{d.unclaim} WHERE id = {p}",
            (status, d.time(now), error, d.time(retry_at),
             d.time(now) if error is None else None, delivery_id),
        )  # fmt: skip

    def health_events(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest health changes, newest first (for reports and tests)."""
        return self._read(
            "SELECT id, feed_url, feed, state, previous, title, detail, at FROM feed_events "
            f"ORDER BY seq DESC LIMIT {self.dialect.p}",
            (limit,),
        )
