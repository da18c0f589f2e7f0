"""What story grouping across workers adds to a poll with hits on PostgreSQL: taking the
story lock and reading the hits other workers stored since the last look.

    python benchmarks/bench_story_lock.py postgresql://...   (a throw-away schema is used)

Stores 2,000 hits (detected now, inside the story window), then times ``story_lock()`` plus
``hit_items_after`` with nothing new to read (200 runs) and with 20 new hits (50 runs).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

import psycopg

from monitor._config import FeedConfig
from monitor._models import Entry, Judgement
from monitor._storage import NewItem
from monitor._storage._postgres import PostgresStorage
from monitor._times import utcnow

FEED = FeedConfig("http://127.0.0.1:1/feed.xml", "Feed", 600)
HIT = Judgement("t", 0.9, True, ())


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - began) * 1000)
    return sorted(out)


def main(dsn: str) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    sep = "&" if "?" in dsn else "?"
    store = PostgresStorage(f"{dsn}{sep}options={quote(f'-csearch_path={schema}')}")
    try:
        store.sync_feeds([FEED])
        now = utcnow()
        for start in range(0, 2000, 50):
            items = [
                NewItem(Entry(f"k{i}", f"Hit {i}", "S", f"http://x/{i}", now, f"fp{i}"),
                        (HIT,), story_id=f"story_{i}")
                for i in range(start, start + 50)
            ]  # fmt: skip
            state = store.feed_state(FEED.url)
            store.store_poll(state, now, title="T", fetch_url=FEED.url, etag=None,
                             last_modified=None, body_hash=None, warning=None, items=items,
                             edited=[], channels=[])  # fmt: skip
        last, since = store.last_item_id(), now - timedelta(days=3)

        def look(after: int) -> None:
            with store.story_lock():
                store.hit_items_after(after, since)

        quiet = timed(lambda: look(last), 200)
        busy = timed(lambda: look(last - 20), 50)
        print(f"lock + read, nothing new: median {statistics.median(quiet):.2f} ms, "
              f"p95 {quiet[189]:.2f} ms")  # fmt: skip
        print(f"lock + read, 20 new hits: median {statistics.median(busy):.2f} ms")
    finally:
        store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


if __name__ == "__main__":
    main(sys.argv[1])
