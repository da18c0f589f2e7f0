"""kill -9 the daemon at random moments while it fetches, stores and delivers (issue 4, scenario 9).

    python benchmarks/kill_trials.py [--trials 25] [--seed 4]

Everything runs on 127.0.0.1: a feed server (tests/feedserver.py) whose feeds gain new items
before every trial, a webhook receiver that answers slowly (so deliveries are in flight when
the kill lands) and fails now and then, and `monitor run` as a child process that is killed with
SIGKILL after a random delay. After each kill the database must pass ``PRAGMA integrity_check``.
At the end the daemon runs undisturbed until every stored hit is delivered, then the script
reports: trials, hits stored, hits delivered, hits lost (must be 0), duplicate deliveries and
whether every duplicate carried the same ``webhook-id`` as the first delivery of that item.
Exit status 0 when nothing was lost, the database was always intact and duplicates shared ids.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.feedserver import FeedServer, rss  # noqa: E402
from tests.helpers import DATA, load_items, write_config  # noqa: E402
from tests.receivers import WebhookReceiver  # noqa: E402

FEEDS = 4


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def stored_hits(db: Path) -> dict[str, str]:
    """{hit id: item link} of the stored hits that alert (all of them: no story grouping)."""
    if not db.exists():
        return {}
    sql = "SELECT h.id, i.link FROM hits h JOIN items i ON i.id = h.item_id WHERE h.alerted = 1"
    return {str(hid): str(link) for hid, link in query(db, sql)}


class SlowReceiver(WebhookReceiver):
    """Answers after a short delay, and with a 500 about one time in ten; records each answer."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple[str, str, int]] = []  # (webhook-id, item link, status)

    def _answer(self, request):  # type: ignore[no-untyped-def]
        time.sleep(random.uniform(0.0, 0.15))
        status = super()._answer(request)
        status = 500 if random.random() < 0.1 else status
        link = request.json["link"] if isinstance(request.json, dict) else ""
        with self._cond:
            self.answers.append((request.headers.get("webhook-id", ""), link, status))
        return status


class Publisher:
    """``feeds`` loopback feeds of on-topic stories re-used under new guids and links: every
    item published is a new hit and, an hour from the others, a story of its own."""

    def __init__(self, server: FeedServer, feeds: int) -> None:
        self.server = server
        self.feeds = feeds
        self.stories = [i for i in load_items(DATA / "clear_items.jsonl") if i["label"] == 2]
        self.published: dict[str, list[dict[str, object]]] = {
            f"/k{n}.xml": [] for n in range(feeds)
        }
        self.counter = 0

    def publish(self, count: int) -> None:
        """Add ``count`` items (round-robin over the feeds); serve each feed's newest 50."""
        for _ in range(count):
            n = self.counter
            story = self.stories[n % len(self.stories)]
            link = f"https://kill.example/{n}"
            # Distinct words per item, so the story grouper does not fold them into one story.
            self.published[f"/k{n % self.feeds}.xml"].append(
                {
                    "title": f"{story['title']} (update {n})",
                    "summary": f"{story['summary']} Dispatch number {n}.",
                    "link": link,
                    "guid": link,
                    # an hour apart: with a 1 s story window each item is a story of its own
                    "published": datetime.now(UTC) - timedelta(hours=n + 1),
                }
            )
            self.counter += 1
        for path, items in self.published.items():
            self.server.add_behaviour(path, "hold", body=rss(items[::-1][:50]), delay=0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--max-delay", type=float, default=4.0, help="latest kill, seconds")
    args = parser.parse_args()
    random.seed(args.seed)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)

    server = FeedServer().start()
    receiver = SlowReceiver()
    feeds = Publisher(server, FEEDS)
    published = feeds.published
    publish = feeds.publish

    work = Path(tempfile.mkdtemp(prefix="kill-trials-"))
    config = write_config(
        work,
        [server.url(path) for path in published],
        webhook=receiver,
        monitor='jitter = 0\nstory_window = "1s"',
        extra='[alerts]\nretry_schedule = ["1s", "1s", "2s", "2s", "5s", "5s", "10s", "10s"]',
    )
    config.write_text(config.read_text().replace('interval = "10m"', 'interval = "1s"'))
    db = work / "monitor.db"
    log = work / "daemon.log"
    bad_integrity: list[int] = []
    killed_after: list[float] = []
    print(f"work dir {work}; {args.trials} trials", flush=True)
    try:
        for trial in range(1, args.trials + 1):
            publish(random.randint(1, 6))
            proc = start(config, log)
            delay = random.uniform(0.3, args.max_delay)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            killed_after.append(delay)
            check = integrity(db) if db.exists() else "no database yet"
            if check not in ("ok", "no database yet"):
                bad_integrity.append(trial)
            print(
                f"trial {trial:2d}: killed after {delay:4.2f} s; integrity {check}; "
                f"hits stored so far {len(stored_hits(db))}; "
                f"webhook requests so far {len(receiver.answers)}",
                flush=True,
            )

        # The last run is left alone until every stored hit is delivered (or 90 s pass).
        proc = start(config, log)
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline:
                time.sleep(1)
                conn = sqlite3.connect(db, timeout=10)
                pending = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE status != 'delivered'"
                ).fetchone()[0]
                conn.close()
                items = sum(len(v) for v in published.values())
                stored = len(query(db, "SELECT id FROM items"))
                if pending == 0 and stored == items:
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        final_check = integrity(db)
        if final_check != "ok":
            bad_integrity.append(args.trials + 1)
    finally:
        server.stop()
        receiver.close()

    hits = stored_hits(db)
    links = {str(item["link"]) for items in published.values() for item in items}
    stored_links = {str(r[0]) for r in query(db, "SELECT link FROM items")}
    delivered = [(hid, link) for hid, link, status in receiver.answers if 200 <= status < 300]
    ids_by_link: dict[str, set[str]] = defaultdict(set)
    count_by_link: dict[str, int] = defaultdict(int)
    for hid, link in delivered:
        ids_by_link[link].add(hid)
        count_by_link[link] += 1
    delivered_ids = {hid for hid, _ in delivered}
    recorded = query(db, "SELECT count(*) FROM deliveries WHERE status = 'delivered'")[0][0]
    lost_not_stored = sorted(links - stored_links)
    lost_not_delivered = sorted(set(hits) - delivered_ids)
    duplicates = sum(n - 1 for n in count_by_link.values() if n > 1)
    shared = all(len(ids) == 1 for ids in ids_by_link.values())
    result = {
        "trials": args.trials,
        "kill_after_s": [round(min(killed_after), 2), round(max(killed_after), 2)],
        "items_published": len(links),
        "items_stored": len(stored_links & links),
        "hits_stored": len(hits),
        "hits_delivered": len(set(hits) & delivered_ids),
        "outbox_rows_delivered": recorded,
        "hits_lost": len(lost_not_stored) + len(lost_not_delivered),
        "webhook_requests": len(receiver.answers),
        "answered_500_on_purpose": sum(1 for *_, status in receiver.answers if status == 500),
        "duplicate_deliveries": duplicates,
        "all_duplicates_share_webhook_id": shared,
        "integrity_failures": bad_integrity,
    }
    print(json.dumps(result, indent=2))
    if lost_not_stored or lost_not_delivered:
        print(f"lost: not stored {lost_not_stored[:5]}, not delivered {lost_not_delivered[:5]}")
        print(f"daemon log: {log}")
    good = not (lost_not_stored or lost_not_delivered or bad_integrity) and shared
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
