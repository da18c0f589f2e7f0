"""What ``/metrics`` reads from a PostgreSQL database at each scrape (the twin of
``_views.read_ops_counts`` / ``read_delivery_latency``): on a short-lived connection of its
own, from the exporter's thread, read-only."""

from __future__ import annotations

import psycopg

from .._errors import StorageError
from ._pg_base import conninfo, reason, redact_dsn
from ._views import Gauges


def read_pg_gauges(dsn: str, buckets: tuple[float, ...]) -> Gauges:
    """The :data:`Gauges`, as the SQLite readers give them. Raises ``StorageError``
    (the server away, no tables yet): the scrape then reports no sample."""
    cases = ", ".join(f"count(*) FILTER (WHERE lat <= {float(b)!r})" for b in buckets)
    try:  # a scrape must not hang on a server that does not answer: 2 s, as SQLite's wait
        with psycopg.connect(conninfo(dsn), connect_timeout=2, autocommit=True) as conn:
            conn.read_only = True
            rows = conn.execute(
                "SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status"
            ).fetchall()
            feeds = conn.execute(
                "SELECT count(*) FILTER (WHERE paused = 0), count(*) FILTER (WHERE paused = 1), "
                "count(*) FILTER (WHERE paused = 0 AND last_status IN ('error', 'gone')) "
                "FROM feeds WHERE source <> 'removed'"
            ).fetchone()
            latency = conn.execute(
                f"SELECT {cases}, coalesce(sum(lat), 0.0), count(*) FROM ("
                "SELECT extract(epoch FROM d.delivered_at - h.detected_at)::float AS lat "
                "FROM deliveries d JOIN hits h ON h.id = d.hit_id "
                "WHERE d.status = 'delivered' AND d.delivered_at IS NOT NULL) x"
            ).fetchone()
    except psycopg.Error as exc:
        raise StorageError(f"{redact_dsn(dsn)}: {reason(exc)}") from None
    assert feeds is not None and latency is not None  # aggregates always give one row
    states = dict(zip(("active", "paused", "failing"), (int(n) for n in feeds), strict=True))
    counts = [int(v) for v in latency[: len(buckets)]]
    return (
        [(str(c), str(s), int(n)) for c, s, n in rows],
        states,
        (counts, float(latency[-2]), int(latency[-1])),
    )
