"""kill -9 workers of a shared PostgreSQL database at random moments while they poll, store and
deliver (issue 12): the PostgreSQL twin of ``kill_trials.py``.

    MONITOR_TEST_PG_DSN=postgresql://… python benchmarks/pg_kill_trials.py [--trials 15]

Three ``monitor run`` workers share one database (a throw-away schema of that database) and
a farm of loopback feeds that gain new items before every trial; the webhook receiver answers
slowly and fails now and then (``kill_trials.SlowReceiver``), so deliveries are in flight
when a kill lands. Each trial SIGKILLs one worker, chosen at random, after a random delay and
starts a new one in its place. At the end the workers run undisturbed until every stored hit
is delivered; the script reports hits stored, delivered, lost (must be 0), repeated
deliveries and whether every repeat carried the same ``webhook-id``. Exit status 0 when
nothing was lost and repeats shared ids.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kill_trials import Publisher, SlowReceiver  # noqa: E402

from monitor._storage._postgres import PostgresStorage  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402
from tests.helpers import write_config  # noqa: E402
from tests.pg import with_schema  # noqa: E402

FEEDS = 12
WORKERS = 3


def start(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=out, stderr=out, cwd=ROOT, env=env,
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--max-delay", type=float, default=3.0, help="latest kill, seconds")
    args = parser.parse_args()
    random.seed(args.seed)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    base = os.environ["MONITOR_TEST_PG_DSN"]
    schema = f"kill_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    dsn = with_schema(base, schema)
    env = {**os.environ, "MONITOR_KILL_DSN": dsn}

    server = FeedServer().start()
    receiver = SlowReceiver()
    feeds = Publisher(server, FEEDS)
    published = feeds.published
    publish = feeds.publish

    work = Path(tempfile.mkdtemp(prefix="pg-kill-trials-"))
    config = write_config(
        work,
        [server.url(path) for path in published],
        webhook=receiver,
        monitor='jitter = 0\nstory_window = "1s"\nlease = "5s"\ndeadline = "2s"\n'
        'parse_timeout = "2s"\nparse_workers = 1\nper_host = 16',
        extra='[alerts]\nretry_schedule = ["1s", "1s", "2s", "2s", "5s", "5s", "10s", "10s"]',
    )
    text = config.read_text().replace('interval = "10m"', 'interval = "1s"')
    config.write_text(text.replace('database = "monitor.db"', 'database_env = "MONITOR_KILL_DSN"'))
    logs = [work / f"worker{n}.log" for n in range(WORKERS)]
    print(f"work dir {work}; {args.trials} trials, {WORKERS} workers", flush=True)
    store = None
    try:
        workers = [start(config, logs[n], env) for n in range(WORKERS)]
        time.sleep(3)  # all three up before the first kill
        for trial in range(1, args.trials + 1):
            publish(random.randint(1, 6))
            delay = random.uniform(0.3, args.max_delay)
            time.sleep(delay)
            victim = random.randrange(WORKERS)
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(timeout=10)
            workers[victim] = start(config, logs[victim], env)
            print(f"trial {trial:2d}: killed worker {victim} after {delay:4.2f} s; "
                  f"webhook requests so far {len(receiver.answers)}", flush=True)  # fmt: skip

        store = PostgresStorage(dsn)
        items = sum(len(v) for v in published.values())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(1)
            pending = [d for d in store.deliveries_report() if d["status"] != "delivered"]
            stored = sum(f["items_seen"] for f in store.feeds_report())
            if not pending and stored == items:
                break
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=30)
        hits = {h["id"]: h["link"] for h in store.hits(limit=None) if h["alerted"]}
        stored_links = {h["link"] for h in store.hits(limit=None)}
    finally:
        server.stop()
        receiver.close()
        if store is not None:
            store.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())

    links = {str(item["link"]) for items in published.values() for item in items}
    delivered = [(hid, link) for hid, link, status in receiver.answers if 200 <= status < 300]
    ids_by_link: dict[str, set[str]] = defaultdict(set)
    count_by_link: dict[str, int] = defaultdict(int)
    for hid, link in delivered:
        ids_by_link[link].add(hid)
        count_by_link[link] += 1
    lost = sorted(set(hits) - {hid for hid, _ in delivered})
    not_hits = sorted(links - stored_links)
    repeats = sum(n - 1 for n in count_by_link.values())
    same_id = all(len(ids) == 1 for ids in ids_by_link.values())
    tracebacks = sum(log.read_text().count("Traceback") for log in logs)
    print(
        f"\n{args.trials} kills over {WORKERS} workers: items published {len(links)}, "
        f"hits {len(hits)} (items that are not hits: {len(not_hits)}), delivered "
        f"{len({hid for hid, _ in delivered})}, lost {len(lost)}, repeated deliveries "
        f"{repeats}, every repeat under the same id: {same_id}, tracebacks in the logs "
        f"{tracebacks}"
    )
    return 0 if not lost and same_id and not tracebacks else 1


if __name__ == "__main__":
    raise SystemExit(main())
