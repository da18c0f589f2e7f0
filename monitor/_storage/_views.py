"""Reads of the SQLite backend only: feeds' rhythms, and what /metrics reads on a
connection of its own."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from .._errors import StorageError
from ._base import StorageBase, reason

# What /metrics reads at each scrape: (deliveries by (channel, status), feeds by state,
# (cumulative delivery-latency counts per bucket bound, their sum, their count))
Gauges = tuple[list[tuple[str, str, int]], dict[str, int], tuple[list[int], float, int]]


class ViewsMixin(StorageBase):
    def feed_rhythms(self, window: timedelta) -> dict[str, tuple[int, str | None, str | None]]:
        """Per feed URL: (items published within ``window`` before its latest item, their
        first and last publication): its rhythm, however long ago it last published."""
        rows = self._read(
            "SELECT f.url, count(i.id) AS n, min(i.published) AS first, "
            "max(i.published) AS last FROM feeds f "
            "LEFT JOIN (SELECT feed_id, max(published) AS latest FROM items GROUP BY feed_id) m "
            "ON m.feed_id = f.id LEFT JOIN items i ON i.feed_id = f.id "
            "AND i.published >= strftime('%Y-%m-%dT%H:%M:%S', m.latest, ?) GROUP BY f.id",
            (f"-{window.total_seconds()} seconds",),
        )
        return {r["url"]: (r["n"], r["first"], r["last"]) for r in rows}


def read_ops_counts(path: Path) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """For /metrics, read-only and on a connection of its own (the exporter's thread):
    ``([(channel, status, deliveries)], {"active"|"paused"|"failing": feeds})``. Raises
    ``StorageError`` (no database yet, busy): the scrape then reports no sample."""
    try:
        return _ops_counts(path)
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: {reason(exc)}") from None


def _ops_counts(path: Path) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    try:
        rows = conn.execute(
            "SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status"
        ).fetchall()
        active, paused, failing = conn.execute(
            "SELECT coalesce(sum(paused = 0), 0), coalesce(sum(paused = 1), 0), "
            "coalesce(sum(paused = 0 AND last_status IN ('error', 'gone')), 0) "
            "FROM feeds WHERE source <> 'removed'"
        ).fetchone()
    finally:
        conn.close()
    return rows, {"active": active, "paused": paused, "failing": failing}


def read_delivery_latency(path: Path, buckets: tuple[float, ...]) -> tuple[list[int], float, int]:
    """For /metrics: how long delivered alerts took from detection to delivery, as cumulative
    counts per bucket bound (seconds), the sum and the count. Raises ``StorageError``."""
    cases = ", ".join(f"coalesce(sum(lat <= {float(b)!r}), 0)" for b in buckets)
    # Each latency is computed once, in a subquery that its LIMIT keeps SQLite from
    # flattening into the sums (flattened, every bucket computed it again: 2.6x the time).
    sql = (
        f"SELECT {cases}, coalesce(sum(lat), 0.0), count(*) FROM ("
        "SELECT (julianday(d.delivered_at) - julianday(h.detected_at)) * 86400.0 AS lat "
        "FROM deliveries d JOIN hits h ON h.id = d.hit_id "
        "WHERE d.status = 'delivered' AND d.delivered_at IS NOT NULL LIMIT -1)"
    )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            row = conn.execute(sql).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: {reason(exc)}") from None
    return [int(v) for v in row[: len(buckets)]], float(row[-2]), int(row[-1])
