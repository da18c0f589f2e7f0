"""P5: alert latency (hit stored → webhook receiver has it) and a burst of 1,000 alerts.

    python benchmarks/bench_alerts.py          # 300 feeds x 20 items; 1,000 alerts, 1,000 feeds
    python benchmarks/bench_alerts.py --smoke

* **latency** — ``monitor run`` against a farm of 300 feeds; every alert's ``detected_at``
  (set when its hit is stored, in the payload) is compared with its arrival at the farm's
  webhook receiver (same clock, loopback). Measured while the daemon is busy with its first
  cycle, i.e. under load.
* **burst** — the database starts with 1,000 hits whose alerts are pending; ``monitor run``
  must deliver them while it polls 1,000 feeds. Compared with the same daemon start without
  the burst: when the last feed was polled (ratio) and the largest gap between two feed
  requests, so a deliverer that blocked polling would show.
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPO, clean_env, monitor_cmd, stop_daemon, table, write_config
from farm import FarmProcess

sys.path.insert(0, str(REPO))
from monitor._config import FeedConfig
from monitor._storage import Storage
from monitor._times import iso, parse_iso


def daemon(config: Path, until: Any, limit: float = 300) -> float:
    """Run ``monitor run`` until ``until()`` is true (checked every 0.2 s); seconds run."""
    proc = subprocess.Popen(
        monitor_cmd(config, "run"), cwd=config.parent, env=clean_env(), stderr=subprocess.PIPE
    )
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < limit and proc.poll() is None:
            time.sleep(0.2)
            if until():
                break
    finally:
        stop_daemon(proc)
    return time.perf_counter() - started


def quiet_for(farm: FarmProcess, what: str, seconds: float, minimum: int) -> Any:
    """A condition: the farm's counter ``what`` reached ``minimum`` and has not moved for
    ``seconds``."""
    state = {"value": -1, "since": time.perf_counter()}

    def check() -> bool:
        value = farm.stats()[what]
        now = time.perf_counter()
        if value != state["value"]:
            state.update(value=value, since=now)
        return value >= minimum and now - state["since"] >= seconds

    return check


def latency(feeds: int, items: int) -> dict[str, Any]:
    with FarmProcess(feeds, items) as farm, tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), farm.urls, hook=farm.hook)
        farm.reset()
        daemon(config, quiet_for(farm, "hooks", 4.0, 1))
        hooks = farm.control("/_farm/hooks")
    lat = []
    for _, detected, arrival in hooks:
        when = parse_iso(detected)
        if when is not None:
            lat.append((arrival - when.timestamp()) * 1000)
    lat.sort()
    return {
        "alerts": len(lat),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p95": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan"),
        "max": lat[-1] if lat else float("nan"),
    }


def seed_burst(db: Path, urls: list[str], count: int) -> None:
    storage = Storage(db)
    storage.sync_feeds(FeedConfig(u, f"feed {i}", 600) for i, u in enumerate(urls))
    storage.close()
    now = iso(datetime.now(UTC))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    for n in range(count):
        conn.execute(
            "INSERT INTO items (id, feed_id, key, fingerprint, title, summary, link, first_seen) "
            "VALUES (?, 1, ?, ?, ?, 'Summary of a burst item', ?, ?)",
            (n + 1, f"id:burst-{n}", f"fp{n}", f"Burst item {n}", f"https://b.example/{n}", now),
        )
        conn.execute(
            "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, alerted) "
            "VALUES (?, ?, 'paris-coalition', 0.9, '[]', ?, 1)",
            (f"hit_burst{n:08d}", n + 1, now),
        )
        conn.execute(
            "INSERT INTO deliveries (hit_id, channel, status, next_attempt) "
            "VALUES (?, 'webhook', 'pending', ?)",
            (f"hit_burst{n:08d}", now),
        )
    conn.execute("COMMIT")
    conn.close()


def polls(feeds: int, items: int, burst: int) -> dict[str, Any]:
    """Daemon start over ``feeds`` feeds with ``burst`` pending alerts: when polling finished,
    the largest gap between feed requests, when the last alert arrived."""
    with (
        FarmProcess(feeds, items, log_requests=True) as farm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        config = write_config(folder, farm.urls, hook=farm.hook)
        if burst:
            seed_burst(folder / "monitor.db", farm.urls, burst)
        farm.reset()
        t0 = time.time()
        polled = quiet_for(farm, "requests", 3.0, feeds)
        daemon(config, lambda: polled() and farm.stats()["hooks"] >= burst, limit=120)
        log = farm.control("/_farm/requests")
        hooks = farm.control("/_farm/hooks")
    times = sorted(t for _, t, _ in log)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    burst_hooks = [h for h in hooks if h[0].startswith("hit_burst")]
    return {
        "requests": len(times),
        "first_request": times[0] - t0 if times else float("nan"),
        "last_request": times[-1] - t0 if times else float("nan"),
        "max_gap_ms": max(gaps) * 1000 if gaps else 0.0,
        "burst_delivered": len(burst_hooks),
        "burst_done": max(h[2] for h in burst_hooks) - t0 if burst_hooks else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--burst-feeds", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.feeds, args.items, args.burst, args.burst_feeds = 30, 10, 50, 50
    lat = latency(args.feeds, args.items)
    print(
        f"latency over {lat['alerts']} alerts: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms",
        flush=True,
    )
    quiet = polls(args.burst_feeds, 5, 0)
    loaded = polls(args.burst_feeds, 5, args.burst)
    print()
    print(
        table(
            ["P5 alerts", "value"],
            [
                ["alerts measured (first cycle, 300 feeds, under load)", lat["alerts"]],
                ["latency p50", f"{lat['p50']:.0f} ms"],
                ["latency p95", f"{lat['p95']:.0f} ms"],
                ["latency max", f"{lat['max']:.0f} ms"],
                [f"burst: {args.burst} pending alerts delivered", loaded["burst_delivered"]],
                ["burst: last alert in, s after daemon start", f"{loaded['burst_done']:.2f}"],
                [
                    f"polls of {args.burst_feeds} feeds done, s (no burst / burst)",
                    f"{quiet['last_request']:.2f} / {loaded['last_request']:.2f} "
                    f"({loaded['last_request'] / quiet['last_request']:.2f}x)",
                ],
                [
                    "largest gap between feed requests, ms (no burst / burst)",
                    f"{quiet['max_gap_ms']:.0f} / {loaded['max_gap_ms']:.0f}",
                ],
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
