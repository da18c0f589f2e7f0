"""P4: peak RSS of the daemon with 5,000 feeds and 1,000,000 stored items; bytes per item;
retention.

    python benchmarks/bench_memory.py            # 5,000 feeds x 20 items, 1,000,000 items stored
    python benchmarks/bench_memory.py --smoke    # 50 feeds, 10,000 items

1. The database is filled fast with direct SQL inserts through the project's schema (real item
   texts, first seen spread over the last 180 days, 1 % of them hits with delivered alerts).
2. ``monitor run`` (the daemon) starts against a farm of 5,000 feeds x 20 new items each,
   polls all of them once (the farm counts the requests), then is stopped with SIGTERM. Its
   peak RSS (``VmHWM``) is read from /proc while it runs; the parser workers are separate
   processes and are reported on their own.
3. ``monitor once`` with ``keep_items = "90d"``: the retention pass; the database's items,
   file size and bytes per item before and after (SQLite reuses freed pages; the file only
   shrinks with VACUUM, which is reported too).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPO, clean_env, monitor_cmd, run_monitor, stop_daemon, table, write_config
from farm import FarmProcess, load_texts

sys.path.insert(0, str(REPO))
from monitor._config import FeedConfig
from monitor._storage import Storage
from monitor._times import iso


def fill(db: Path, urls: list[str], total: int) -> float:
    """``total`` items over the feeds, as the poller would have stored them; seconds taken."""
    started = time.perf_counter()
    storage = Storage(db)
    storage.sync_feeds(FeedConfig(u, f"feed {i}", 600) for i, u in enumerate(urls))
    storage.close()
    texts, _ = load_texts()
    now = datetime.now(UTC)
    rng = random.Random(5)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    feed_ids = [r[0] for r in conn.execute("SELECT id FROM feeds ORDER BY id")]
    batch = 20_000
    for start in range(0, total, batch):
        rows = []
        hits = []
        for n in range(start, min(start + batch, total)):
            t = texts[n % len(texts)]
            seen = now - timedelta(seconds=rng.uniform(0, 180 * 86400))
            fid = feed_ids[n % len(feed_ids)]
            rows.append(
                (
                    n + 1,
                    fid,
                    f"id:bench-{n}",
                    f"{n:040x}",
                    t.title,
                    t.summary,
                    f"https://bench.example/{fid}/{n}",
                    iso(t.published),
                    iso(seen),
                    round(rng.random(), 3),
                    "paris-coalition",
                )
            )
            if n % 100 == 0:
                hits.append((f"hit_bench{n:016d}", n + 1, iso(seen)))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO items (id, feed_id, key, fingerprint, title, summary, link, published, "
            "first_seen, score, topic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, story_id, "
            "alerted) VALUES (?, ?, 'paris-coalition', 0.9, '[]', ?, NULL, 1)",
            hits,
        )
        conn.executemany(
            "INSERT INTO deliveries (hit_id, channel, status, attempts, delivered_at) "
            "VALUES (?, 'webhook', 'delivered', 1, ?)",
            [(h[0], h[2]) for h in hits],
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


def db_stats(db: Path) -> dict[str, float]:
    conn = sqlite3.connect(db)
    try:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        hits = conn.execute("SELECT count(*) FROM hits").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        conn.close()
    size = db.stat().st_size
    return {
        "items": items,
        "hits": hits,
        "bytes": size,
        "used": (pages - free) * page,
        "per_item": (pages - free) * page / max(items, 1),
    }


def _items(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT max(id) FROM items").fetchone()[0] or 0)
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    try:
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    except OSError:
        return []
    children: dict[int, list[int]] = {}
    pairs = out.stdout.split()
    for i in range(0, len(pairs) - 1, 2):
        children.setdefault(int(pairs[i + 1]), []).append(int(pairs[i]))
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def run_daemon(config: Path, farm: FarmProcess, feeds: int, limit: float) -> dict[str, float]:
    """Start ``monitor run``, wait until every feed was asked once and the polls settled, stop it;
    the main process's VmHWM and the largest parser worker's."""
    proc = subprocess.Popen(
        monitor_cmd(config, "run"), cwd=config.parent, env=clean_env(), stderr=subprocess.PIPE
    )
    started = time.perf_counter()
    hwm = worker = 0
    settled_at: float | None = None
    last_count = -1
    while time.perf_counter() - started < limit and proc.poll() is None:
        time.sleep(0.25)
        hwm = max(hwm, _status(proc.pid).get("VmHWM", 0))
        for child in _descendants(proc.pid):
            worker = max(worker, _status(child).get("VmHWM", 0))
        # Settled: every feed asked and the item count still for 5 s (the parses are done).
        count = _items(config.parent / "monitor.db")
        if farm.stats()["requests"] < feeds or count != last_count:
            settled_at = None
        elif settled_at is None:
            settled_at = time.perf_counter()
        last_count = count
        if settled_at is not None and time.perf_counter() - settled_at > 5:
            break
    hwm = max(hwm, _status(proc.pid).get("VmHWM", 0))
    stop_daemon(proc)
    return {
        "rss_mb": hwm / 1024,
        "worker_mb": worker / 1024,
        "seconds": time.perf_counter() - started,
        "requests": farm.stats()["requests"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--items", type=int, default=20, help="items per feed on the farm")
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.feeds, args.items, args.stored = 50, 10, 10_000
    results: dict[str, object] = {}
    with FarmProcess(args.feeds, args.items) as farm, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "monitor.db"
        fill_s = fill(db, farm.urls, args.stored)
        before = db_stats(db)
        print(
            f"filled {before['items']:,} items ({before['hits']:,} hits) in {fill_s:.1f} s: "
            f"{before['bytes'] / 1e6:.0f} MB, {before['per_item']:.0f} bytes per item",
            flush=True,
        )
        config = write_config(folder, farm.urls, monitor="")
        farm.reset()
        daemon = run_daemon(config, farm, args.feeds, limit=600)
        after_run = db_stats(db)
        print(
            f"monitor run: {daemon['requests']} polls, peak RSS {daemon['rss_mb']:.0f} MB",
            flush=True,
        )
        config = write_config(folder, farm.urls, monitor='keep_items = "90d"')
        started = time.perf_counter()
        once = run_monitor(config)  # every feed 304 now: this is the retention pass
        retention_s = time.perf_counter() - started
        after = db_stats(db)
        conn = sqlite3.connect(db)
        conn.execute("VACUUM")
        conn.close()
        vacuumed = db.stat().st_size
    rows = [
        ["configured feeds", f"{args.feeds:,}"],
        ["stored items (filled + first poll)", f"{after_run['items']:,.0f}"],
        ["daemon peak RSS (main process)", f"{daemon['rss_mb']:.0f} MB"],
        ["parser worker peak RSS (each)", f"{daemon['worker_mb']:.0f} MB"],
        ["once + retention peak RSS", f"{once.max_rss_kib / 1024:.0f} MB"],
        ["database bytes per item", f"{after_run['per_item']:.0f}"],
        ["database file", f"{after_run['bytes'] / 1e6:.0f} MB"],
        ["keep_items = 90d: items left", f"{after['items']:,.0f} ({after['hits']:,.0f} hits)"],
        ["retention pass (once, all 304)", f"{retention_s:.1f} s"],
        [
            "file after retention / after VACUUM",
            f"{after['bytes'] / 1e6:.0f} / {vacuumed / 1e6:.0f} MB",
        ],
    ]
    print()
    print(table(["P4 memory and size", "value"], rows))
    results.update(
        daemon=daemon,
        before=before,
        after_run=after_run,
        after=after,
        once_rss_mb=once.max_rss_kib / 1024,
        retention_s=retention_s,
        vacuumed=vacuumed,
        fill_s=fill_s,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
