"""What claiming costs per poll on PostgreSQL (issue 12): the database work of a steady (304)
cycle over N feeds, done the way a worker does it (claim a batch of 10 in one transaction,
then each poll's outcome written with the release of its lease) and the way the single
process does it (read the feed's state, write the outcome), on the same database.

    MONITOR_TEST_PG_DSN=postgresql://… python benchmarks/bench_claims.py [--feeds 2000]

Works in a throw-away schema of that database (dropped at the end). No network but the
database's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor._config import FeedConfig
from monitor._storage._postgres import PostgresStorage
from monitor._times import utcnow
from tests.pg import with_schema


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=2000)
    args = parser.parse_args()
    dsn = os.environ["MONITOR_TEST_PG_DSN"]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        store = PostgresStorage(with_schema(dsn, schema))
        feeds = [FeedConfig(f"http://127.0.0.1:1/f{n}", f"f{n}", 600) for n in range(args.feeds)]
        store.sync_feeds(feeds)
        now = utcnow()
        later = now + timedelta(minutes=10)

        started = time.perf_counter()
        claims = 0
        while batch := store.claim_feeds("w", now, limit=10):
            claims += 1
            for feed in batch:
                store.record_not_modified(feed, now, lease=("w", later))
        claimed = time.perf_counter() - started

        started = time.perf_counter()
        for feed in feeds:
            state = store.feed_state(feed.url)
            store.record_not_modified(state, now)
        single = time.perf_counter() - started
        store.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())
    n = args.feeds
    print(
        f"{n} feeds, 304 outcomes: claimed in {claims} batches {claimed / n * 1000:.3f} ms/poll, "
        f"single process (state read + write) {single / n * 1000:.3f} ms/poll, "
        f"claim overhead {(claimed - single) / n * 1000:+.3f} ms/poll"
    )


if __name__ == "__main__":
    main()
