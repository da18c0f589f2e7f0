"""Several `monitor run` worker processes on one PostgreSQL database, for real: three
subprocesses (``python -m monitor run``), loopback feeds, a signed-webhook receiver, short
intervals; then one worker is killed with SIGKILL while it holds leases, and the server drops
the other workers' connections.

What must hold: each feed is polled once per interval (never twice in one), every alerted hit
reaches the receiver, under its one id, and nothing else does; after the kill nothing is lost
(every item served is stored, every alert delivered), a repeated alert carries the same id,
the dead worker's leases are taken over once they run out, and the others reconnect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor._storage._postgres import PostgresStorage
from monitor._times import parse_iso
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, START, load_items
from tests.receivers import WebhookReceiver
from tests.test_postgres_cycle import pg_config

ROOT = Path(__file__).resolve().parents[1]
FEEDS = int(os.environ.get("MONITOR_TEST_WORKER_FEEDS", "200"))
CHANGED = 60  # feeds that gain an item after two quiet intervals …
SLOW = 12  # … of which these answer 1.5 s late (so the victim holds leases when killed)
INTERVAL = 5.0
LEASE = 10.0  # generous: on 2 shared cores a poll can stall for seconds
ITEMS = load_items(DATA / "clear_items.jsonl")
ON = [i for i in ITEMS if i["label"] == 2]
OFF = [i for i in ITEMS if i["label"] == 0]


def entry(feed: int, n: int, item: dict[str, Any]) -> dict[str, Any]:
    """An item of feed ``feed``; published times 3 minutes apart, so that no two items fall in
    one story window (1 s here): every hit is its own story and alerts."""
    link = f"https://news.example/f{feed}/{n}"
    when = START + timedelta(minutes=3 * (feed * 10 + n))
    return {"title": item["title"], "summary": item["summary"], "link": link, "guid": link,
            "published": when}  # fmt: skip


def first_items(feed: int) -> list[dict[str, Any]]:
    return [entry(feed, 0, ON[feed % len(ON)]), entry(feed, 1, OFF[feed % len(OFF)])]


def wait_until(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.2)


def serve_first_items(
    feed_server: FeedServer, prefix: str, count: int
) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """``count`` loopback feeds at ``{prefix}{n}.xml`` with their first items: (paths, items
    served by path, to be added to)."""
    paths = [f"{prefix}{n}.xml" for n in range(count)]
    served: dict[str, list[dict[str, Any]]] = {}
    for n, path in enumerate(paths):
        served[path] = first_items(n)
        feed_server.add(path, rss(served[path], title=f"Feed {n}"))
    return paths, served


def start_worker(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=out, stderr=out, cwd=ROOT, env=env,
        )  # fmt: skip


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker still running, then wait (15 s each) or kill."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


def test_three_workers_share_the_feeds_and_survive_a_kill(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    paths, served = serve_first_items(feed_server, "/w", FEEDS)
    settings = "\n".join([
        'interval = "5s"', "jitter = 0", 'lease = "10s"', 'deadline = "3s"',
        'parse_timeout = "2s"', "per_host = 32", "parse_workers = 1", 'story_window = "1s"',
    ])  # fmt: skip
    config = pg_config(
        tmp_path, [feed_server.url(p) for p in paths], webhook_receiver, monitor=settings
    )
    config.write_text(config.read_text().replace('interval = "10m"\n', ""), encoding="utf-8")
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    db = PostgresStorage(pg_schema_dsn)
    workers = [start_worker(config, tmp_path / f"worker{n}.log", env) for n in range(3)]
    try:
        polled = lambda: {p for p, _ in feed_server.request_times}  # noqa: E731
        wait_until("every feed polled once", lambda: len(polled()) == FEEDS, 40)
        time.sleep(2 * INTERVAL)  # two quiet intervals: every poll a 304

        for n, path in enumerate(paths[:CHANGED]):
            served[path] = [entry(n, 2, ON[(n + 1) % len(ON)]), *served[path]]
            body = rss(served[path], title=f"Feed {n}")
            if n < SLOW:
                feed_server.add_behaviour(path, "hold", body=body, delay=1.5)
            else:
                feed_server.add(path, body)

        # the victim is whichever worker is first seen holding leases (which one claims the
        # slow feeds is the scheduler's business; waiting for a chosen one could time out)
        holders: list[tuple[subprocess.Popen[bytes], list[str]]] = []

        def a_worker_holds_leases() -> bool:
            owners = [(url, owner or "") for url, (owner, _, _) in db.feed_leases().items()]
            holders.clear()
            for worker in workers:
                held = [url for url, owner in owners if f":{worker.pid}:" in owner]
                if held:
                    holders.append((worker, held))
            return bool(holders)

        wait_until("a worker holds a lease", a_worker_holds_leases, 2 * INTERVAL)
        victim, held = holders[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        # … and the server drops every other connection (as in a restart): the survivors'
        # next calls fail, the ones after reconnect
        dropped = db.conn.execute(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()
        assert dropped is not None and dropped["n"] >= 2

        def settled() -> bool:
            stored = sum(f["items_seen"] for f in db.feeds_report())
            pending = db.deliveries_report("pending")
            return stored == sum(len(items) for items in served.values()) and not pending

        wait_until("every item stored, every alert delivered", settled, 3 * LEASE + INTERVAL)
        time.sleep(max(0.0, killed_at + LEASE + INTERVAL - time.monotonic()))
    finally:
        stopping = time.monotonic()
        stop_workers(workers)
    logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(3))
    assert "Traceback" not in logs, logs[max(0, logs.find("Traceback") - 1000) :][:4000]
    # the survivors met the dropped connections, said so (no traceback), and went on
    assert " ERROR " in logs, logs[-3000:]
    assert [w.returncode for w in workers] == [
        -signal.SIGKILL if w is victim else 0 for w in workers
    ]

    # each feed polled once per interval: never twice within half an interval
    times: dict[str, list[float]] = defaultdict(list)
    for path, moment in feed_server.request_times:
        times[path].append(moment)
    gaps = [b - a for moments in times.values() for a, b in pairwise(moments)]
    # (on failure: which feeds, and when, in seconds from the kill; the stop began at `stop`)
    short = [
        (path, round(a - killed_at, 2), round(b - killed_at, 2))
        for path, moments in times.items()
        for a, b in pairwise(moments)
        if b - a <= INTERVAL / 2
    ]
    assert not short, (short[:5], {"stop": round(stopping - killed_at, 2)})
    assert max(gaps) < INTERVAL + LEASE + 3, sorted(gaps)[-5:]

    # every alerted hit reached the receiver under its one id; nothing else did
    hits = db.hits(limit=None)
    alerted = {h["id"] for h in hits if h["alerted"]}
    received = Counter(r.json["id"] for r in webhook_receiver.received)
    assert len(alerted) >= FEEDS // 2 and set(received) == alerted
    assert all(r.signature_ok and r.headers["webhook-id"] == r.json["id"]
               for r in webhook_receiver.received)  # fmt: skip
    by_link: dict[str, set[str]] = defaultdict(set)
    for r in webhook_receiver.received:
        by_link[r.json["link"]].add(r.json["id"])
    assert all(len(ids) == 1 for ids in by_link.values())  # a repeat only under the same id
    assert {d["status"] for d in db.deliveries_report()} == {"delivered"}
    first = {}  # detection to the receiver's first copy, seconds
    for r in webhook_receiver.received:
        detected = parse_iso(r.json["detected_at"])
        assert detected is not None
        first.setdefault(r.json["id"], r.arrived_at - detected.timestamp())
    latency = sorted(first.values())
    print(  # the figures docs/scaling.md quotes (pytest -s)
        f"{FEEDS} feeds, {len(alerted)} alerts, {received.total() - len(received)} repeated "
        f"(same id), {len(held)} leases taken over; gaps between polls of a feed: "
        f"min {min(gaps):.2f} s, median {sorted(gaps)[len(gaps) // 2]:.2f} s, "
        f"max {max(gaps):.2f} s (interval {INTERVAL:g} s, lease {LEASE:g} s); delivery "
        f"latency median {latency[len(latency) // 2] * 1000:.0f} ms, "
        f"p95 {latency[int(len(latency) * 0.95)] * 1000:.0f} ms"
    )

    # the victim's leases were taken over: its feeds were polled again and are no longer its
    leases = db.feed_leases()
    assert all(f":{victim.pid}:" not in (leases[url][0] or "") for url in held)
    stored = {f["url"]: f for f in db.feeds_report()}
    assert all(stored[url]["last_status"] in ("ok", "not-modified") for url in held)
    assert all(times[urlsplit(url).path][-1] > killed_at for url in held)
    db.close()
