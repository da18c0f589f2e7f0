"""A PostgreSQL restart under load: three ``monitor run`` workers poll loopback feeds while
the server is restarted (``pg_ctl restart -m fast``: every connection is closed, the server is
away for a moment, then back on the same port). Feeds gain items just before the restart
(some answer late, so polls are in flight when it happens) and just after.

What must hold: the workers stay alive, log the outage without a traceback, reconnect and go
on; every item served is stored, every alerted hit reaches the receiver exactly once under its
one id, nothing stays pending; the workers then stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from monitor._storage._postgres import PostgresStorage
from monitor._times import parse_iso
from tests.feedserver import FeedServer, rss
from tests.receivers import WebhookReceiver
from tests.test_pg_workers import (
    ON,
    entry,
    serve_first_items,
    start_worker,
    stop_workers,
    wait_until,
)
from tests.test_postgres_cycle import pg_config

FEEDS = 60
BEFORE = range(0, 20)  # feeds that gain an item just before the restart …
SLOW = range(0, 6)  # … of which these answer 1.5 s late (polls in flight at the restart)
AFTER = range(20, 40)  # feeds that gain an item once the server is back
WORKERS = 3
INTERVAL = 2.0
LEASE = 8.0


def restart(pg_ctl: list[str]) -> None:
    """``pg_ctl restart -m fast``: the server ends every session and comes back (same port)."""
    done = subprocess.run(
        [*pg_ctl, "-m", "fast", "-w", "-t", "60", "restart"], capture_output=True, timeout=90
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_workers_reconnect_after_a_server_restart_and_lose_nothing(
    tmp_path: Path,
    pg_schema_dsn: str,
    pg_ctl: list[str],
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    paths, served = serve_first_items(feed_server, "/r", FEEDS)
    settings = "\n".join([
        f'interval = "{INTERVAL:g}s"', "jitter = 0", f'lease = "{LEASE:g}s"', 'deadline = "3s"',
        'parse_timeout = "2s"', "per_host = 32", "parse_workers = 1", 'story_window = "1s"',
    ])  # fmt: skip
    config = pg_config(
        tmp_path, [feed_server.url(p) for p in paths], webhook_receiver, monitor=settings
    )
    config.write_text(config.read_text().replace('interval = "10m"\n', ""), encoding="utf-8")
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    db = PostgresStorage(pg_schema_dsn)

    def gain_item(n: int, *, delay: float = 0.0) -> None:
        path = paths[n]
        served[path] = [entry(n, 2, ON[(n + 1) % len(ON)]), *served[path]]
        body = rss(served[path], title=f"Feed {n}")
        if delay:
            feed_server.add_behaviour(path, "hold", body=body, delay=delay)
        else:
            feed_server.add(path, body)

    def settled() -> bool:
        try:
            stored = sum(f["items_seen"] for f in db.feeds_report())
            pending = db.deliveries_report("pending")
        except Exception:  # our own connection met the restart: the next call reconnects
            return False
        return stored == sum(len(items) for items in served.values()) and not pending

    workers = [start_worker(config, log, env) for log in logs]
    try:
        wait_until("the first cycle stored and alerted", settled, 60)
        for n in BEFORE:
            gain_item(n, delay=1.5 if n in SLOW else 0.0)
        slow_urls = {feed_server.url(paths[n]) for n in SLOW}
        wait_until(
            "a slow feed's poll in flight",
            lambda: any(
                owner is not None
                for url, (owner, _, _) in db.feed_leases().items()
                if url in slow_urls
            ),
            3 * INTERVAL,
        )
        marks = [log.stat().st_size for log in logs]
        restarted_at = time.time()
        restart(pg_ctl)
        for n in AFTER:
            gain_item(n)
        wait_until("every item stored, every alert delivered", settled, 3 * LEASE + 20)
        time.sleep(2 * INTERVAL)  # and the workers keep polling
        alive = [w.poll() is None for w in workers]
        sessions = db._read(  # each worker is connected again (claims run every second)
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )[0]["n"]
    finally:
        stop_workers(workers)
    texts = [log.read_text() for log in logs]
    assert alive == [True] * WORKERS, "".join(texts)[-3000:]
    assert [w.returncode for w in workers] == [0] * WORKERS
    everything = "".join(texts)
    assert "Traceback" not in everything, everything[everything.find("Traceback") - 1000 :][:4000]
    # each worker met the restart and said so; all of them reconnected; polls went on
    after = [
        text.encode()[mark:].decode(errors="replace")
        for text, mark in zip(texts, marks, strict=True)
    ]
    assert all(" ERROR " in text for text in after), after
    assert sessions >= WORKERS
    assert any("poll feed=" in text.rpartition(" ERROR ")[2] for text in after), after

    # nothing lost: every item stored, every alerted hit received once under its one id
    hits = db.hits(limit=None)
    alerted = {h["id"] for h in hits if h["alerted"]}
    received = Counter(r.json["id"] for r in webhook_receiver.received)
    assert set(received) == alerted
    assert received.most_common(1)[0][1] == 1, received.most_common(3)
    assert all(r.signature_ok and r.headers["webhook-id"] == r.json["id"]
               for r in webhook_receiver.received)  # fmt: skip
    by_link: dict[str, set[str]] = defaultdict(set)
    for r in webhook_receiver.received:
        by_link[r.json["link"]].add(r.json["id"])
    assert all(len(ids) == 1 for ids in by_link.values())
    assert {d["status"] for d in db.deliveries_report()} == {"delivered"}
    links = {r.json["link"] for r in webhook_receiver.received}
    for n in [*BEFORE, *AFTER]:  # the items gained around the restart were judged and stored
        assert served[paths[n]][0]["link"] in {i["link"] for i in db_items(db, n)}
    later = [h for h in hits if detected(h) > restarted_at]
    assert later and {h["link"] for h in later if h["alerted"]} <= links
    db.close()


def detected(hit: dict[str, Any]) -> float:
    moment = parse_iso(hit["detected_at"])
    assert moment is not None
    return moment.timestamp()


def db_items(db: PostgresStorage, n: int) -> list[dict[str, Any]]:
    return db._read(
        "SELECT i.link FROM items i JOIN feeds f ON f.id = i.feed_id WHERE f.url LIKE %s",
        (f"%/r{n}.xml",),
    )
