"""Feeds shared by several workers on PostgreSQL: claims with leases (FOR UPDATE SKIP LOCKED).
Two real connections, in two threads at once; no mocks."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from monitor._config import FeedConfig
from monitor._storage import NewItem
from monitor._storage._pg_claims import FEED_LEASE
from monitor._storage._postgres import PostgresStorage
from tests.receivers import WebhookReceiver
from tests.test_storage_contract import entry, hit

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=10)
FEEDS = [FeedConfig(f"http://127.0.0.1:1/f{n}.xml", f"Feed {n:02}", 600) for n in range(40)]


def poll_all_due(workers: list[PostgresStorage], now: datetime) -> Counter[str]:
    """Every worker, in its own thread, claims batches of due feeds and "polls" them (one
    new hit each, stored with the release of the lease) until none is due; returns how many
    times each feed was polled."""
    polled: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(workers))

    def work(n: int, storage: PostgresStorage) -> None:
        start.wait()
        while batch := storage.claim_feeds(f"w{n}", now, limit=3):
            for feed in batch:
                with lock:
                    polled[feed.url] += 1
                storage.store_poll(
                    feed, now, title=None, fetch_url=feed.url, etag=None, last_modified=None,
                    body_hash=None, warning=None, edited=[], channels=["webhook"],
                    items=[NewItem(entry(f"{feed.id}-{now:%H%M}"), (hit(),))],
                    lease=(f"w{n}", now + INTERVAL),
                )  # fmt: skip

    threads = [threading.Thread(target=work, args=(n, w)) for n, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return polled


def test_two_workers_poll_each_feed_once_per_interval_and_alert_once(pg_schema_dsn: str) -> None:
    one, two = PostgresStorage(pg_schema_dsn), PostgresStorage(pg_schema_dsn)
    one.sync_feeds(FEEDS)
    for cycle in range(3):
        now = NOW + cycle * INTERVAL
        polled = poll_all_due([one, two], now)
        assert polled == Counter({f.url: 1 for f in FEEDS}), f"cycle {cycle}"
        assert one.claim_feeds("w0", now + INTERVAL / 2) == []  # nothing due mid-interval
    hits = one.hits()
    assert len(hits) == 3 * len(FEEDS) and len({h["id"] for h in hits}) == len(hits)
    # every hit queued once, and the outbox hands each row to one worker only
    a = one.due_deliveries(NOW + 3 * INTERVAL, ["webhook"], limit=70)
    b = two.due_deliveries(NOW + 3 * INTERVAL, ["webhook"], limit=500)
    assert len(a) + len(b) == len(hits) and not {d.id for d in a} & {d.id for d in b}
    one.close()
    two.close()


def test_a_dead_workers_leases_run_out_and_its_late_release_changes_nothing(
    pg_schema_dsn: str,
) -> None:
    one, two = PostgresStorage(pg_schema_dsn), PostgresStorage(pg_schema_dsn)
    one.sync_feeds(FEEDS[:5])
    taken = one.claim_feeds("dead", NOW, limit=3)  # … and the worker is killed
    assert len(taken) == 3
    rest = two.claim_feeds("alive", NOW + timedelta(seconds=30))
    assert {f.url for f in rest} == {f.url for f in FEEDS[:5]} - {f.url for f in taken}
    assert two.claim_feeds("alive", NOW + FEED_LEASE - timedelta(seconds=1)) == []
    recovered = two.claim_feeds("alive", NOW + FEED_LEASE + timedelta(seconds=1))
    assert {f.url for f in recovered} == {f.url for f in taken}
    # the dead worker comes back late: its release must not undo the new owner's lease
    assert not one.release_feed(taken[0], "dead", NOW + INTERVAL)
    owner, _, _ = two.feed_leases()[taken[0].url]
    assert owner == "alive"
    assert two.release_feed(recovered[0], "alive", NOW + INTERVAL)
    assert two.feed_leases()[recovered[0].url] == (None, None, "2025-03-11T12:10:00.000Z")
    one.close()
    two.close()


def test_paused_and_removed_feeds_are_not_claimed(pg_schema_dsn: str) -> None:
    s = PostgresStorage(pg_schema_dsn)
    s.sync_feeds(FEEDS[:3])
    s.conn.execute("UPDATE feeds SET paused = 1 WHERE url = %s", (FEEDS[0].url,))
    s.conn.execute("UPDATE feeds SET source = 'removed' WHERE url = %s", (FEEDS[1].url,))
    assert [f.url for f in s.claim_feeds("w", NOW)] == [FEEDS[2].url]
    s.close()


def test_a_claimed_alert_keeps_its_lease_when_another_worker_starts(pg_schema_dsn: str) -> None:
    """A worker's start (and each state save) clamps waits stored under a clock that was
    ahead. A delivery another worker has just claimed (its next attempt one lease ahead, no
    attempt yet) is not such a wait: wiping it let the new worker send the alert again while
    the first was still sending it."""
    one, two = PostgresStorage(pg_schema_dsn), PostgresStorage(pg_schema_dsn)
    one.sync_feeds(FEEDS[:1])
    now = datetime.now(UTC)
    poll_all_due([one], now)
    [claimed] = one.due_deliveries(now, ["webhook"], limit=10)
    assert two.clamp_delivery_waits(now) == 0  # the second worker starts
    assert two.due_deliveries(now, ["webhook"], limit=10) == []
    # a wait really stored ahead (no attempt, further than any lease) is still clamped
    with one._write() as conn:
        conn.execute(
            "UPDATE deliveries SET next_attempt = %s WHERE id = %s",
            (now + timedelta(days=365), claimed.id),
        )
    assert two.clamp_delivery_waits(now) == 1
    assert [d.id for d in two.due_deliveries(now, ["webhook"], limit=10)] == [claimed.id]
    one.close()
    two.close()


def test_a_worker_claims_no_more_alerts_than_it_sends_at_once(
    pg_schema_dsn: str, webhook_receiver: WebhookReceiver
) -> None:
    """Claimed alerts share one lease. A worker that claimed 200 and sent them 8 at a time to
    a slow endpoint outlived the lease on the last ones, and another worker sent them too."""
    import asyncio

    import httpx

    from monitor._alerts import WebhookSender
    from monitor._config import WebhookConfig
    from monitor._deliver import Deliverer

    storage = PostgresStorage(pg_schema_dsn)
    storage.sync_feeds(FEEDS[:30])
    now = datetime.now(UTC)
    poll_all_due([storage], now)  # 30 hits: 30 alerts due
    webhook_receiver.delay = 0.5
    claimed: list[int] = []

    async def deliver() -> None:
        async with httpx.AsyncClient() as client:
            cfg = WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret)
            sender = WebhookSender(cfg, client)
            deliverer = Deliverer(storage, {"webhook": sender}, (60.0,), targets={})
            task = asyncio.create_task(deliverer.deliver_due())
            watcher = PostgresStorage(pg_schema_dsn)
            while not task.done():
                await asyncio.sleep(0.1)
                rows = watcher._read(
                    "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' "
                    "AND next_attempt > now() AND last_attempt IS NULL",
                    (),
                )
                claimed.append(int(rows[0]["n"]))
            watcher.close()
            assert await task == 30

    asyncio.run(deliver())
    storage.close()
    assert claimed and max(claimed) <= WebhookSender.concurrency, claimed
    assert len({r.headers["webhook-id"] for r in webhook_receiver.received}) == 30


def test_reports_never_create_nor_upgrade_the_schema(pg_schema_dsn: str) -> None:
    """As on SQLite: a report (`hits`, `feeds`, …) reads; a fleet's older workers must not
    find the schema upgraded under them by someone's `monitor hits`, and a SELECT-only role
    must be able to read."""
    import psycopg
    import pytest

    from monitor._errors import StorageError

    def tables() -> int:
        with psycopg.connect(pg_schema_dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchone()
            return int(row[0]) if row else 0

    with pytest.raises(StorageError, match="run `monitor once` or `monitor run` first"):
        PostgresStorage(pg_schema_dsn, readonly=True)
    assert tables() == 0
    PostgresStorage(pg_schema_dsn).close()  # a worker creates it
    PostgresStorage(pg_schema_dsn, readonly=True).close()
    with psycopg.connect(pg_schema_dsn, autocommit=True) as conn:
        conn.execute("UPDATE monitor_schema SET version = version - 1")
    with pytest.raises(StorageError, match="older than this monitor's"):
        PostgresStorage(pg_schema_dsn, readonly=True)
    with psycopg.connect(pg_schema_dsn) as conn:
        row = conn.execute("SELECT version FROM monitor_schema").fetchone()
    from monitor._storage._pg_schema import SCHEMA_VERSION

    assert row is not None and row[0] == SCHEMA_VERSION - 1  # not upgraded
