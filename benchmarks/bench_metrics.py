"""What a /metrics scrape costs as the delivered alerts pile up (SQLite, no retention).

    python benchmarks/bench_metrics.py            # 10,000 / 90,000 / 450,000 delivered alerts
    python benchmarks/bench_metrics.py --smoke    # 10,000

Each scrape reads the outbox by status and the delivery-latency histogram over every
delivered alert in the database (``read_ops_counts``, ``read_delivery_latency``). The rows
are inserted directly through the project's schema (one hit and one delivered webhook alert
per item). Printed: milliseconds per scrape (median of 5), and the ratio against the
histogram as the previous release computed it (each bucket's sum computing the latency
again), measured in the same run. About 250 alerts a day on two channels reach 90,000 in
six months.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from monitor._metrics import DELIVERY_BUCKETS
from monitor._storage import Storage, read_delivery_latency, read_ops_counts


def previous(path: Path) -> object:
    """The previous release's histogram query: the latency computed once per bucket."""
    lat = "(julianday(d.delivered_at) - julianday(h.detected_at)) * 86400.0"
    cases = ", ".join(f"coalesce(sum({lat} <= {float(b)!r}), 0)" for b in DELIVERY_BUCKETS)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(
            f"SELECT {cases}, coalesce(sum({lat}), 0.0), count(*) FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id WHERE d.status = 'delivered' "
            "AND d.delivered_at IS NOT NULL"
        ).fetchone()
    finally:
        conn.close()


def fill(conn: sqlite3.Connection, start: int, stop: int) -> None:
    seen, sent = "2025-01-01T00:00:00Z", "2025-01-01T00:00:05Z"
    conn.executemany(
        "INSERT INTO items (id, feed_id, key, fingerprint, title, summary, first_seen, link) "
        "VALUES (?, 1, ?, ?, 't', 's', ?, 'l')",
        [(i + 1, f"k{i}", f"fp{i}", seen) for i in range(start, stop)],
    )
    conn.executemany(
        "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, story_id, alerted) "
        "VALUES (?, ?, 'topic', 0.9, '[]', ?, ?, 1)",
        [(f"h{i}", i + 1, seen, f"h{i}") for i in range(start, stop)],
    )
    conn.executemany(
        "INSERT INTO deliveries (hit_id, channel, status, delivered_at) "
        "VALUES (?, 'webhook', 'delivered', ?)",
        [(f"h{i}", sent) for i in range(start, stop)],
    )
    conn.commit()


def median_ms(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(5):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    sizes = (10_000,) if args.smoke else (10_000, 90_000, 450_000)
    path = Path(tempfile.mkdtemp()) / "metrics.db"
    Storage(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('u', 'u', 'n')")
    done = 0
    print(f"{'delivered':>10} {'scrape':>9} {'previous':>9} {'ratio':>6}")
    for size in sizes:
        fill(conn, done, size)
        done = size

        def scrape() -> None:
            read_ops_counts(path)
            read_delivery_latency(path, DELIVERY_BUCKETS)

        def scrape_before() -> None:
            read_ops_counts(path)
            previous(path)

        now, before = median_ms(scrape), median_ms(scrape_before)
        print(f"{size:>10,} {now:>7.0f}ms {before:>7.0f}ms {now / before:>6.2f}")
    conn.close()


if __name__ == "__main__":
    main()
