"""Outbox delivery latency (issue 12): three `monitor run` workers on PostgreSQL against the
single SQLite process, the baseline, measured in the same run on the same farm.

    MONITOR_TEST_PG_DSN=postgresql://… python benchmarks/bench_outbox.py [--feeds 200]
        [--rounds 8] [--per-round 50] [--redeliver 30] [--workers 3]

Each set-up polls every feed every 5 s. After its first cycle (not measured), ``rounds``
times ``per-round`` feeds gain one item each, every 3 s: **new alerts** is the time from a
hit's ``detected_at`` (its transaction) to its arrival at the farm's webhook receiver. Then
``redeliver`` delivered alerts are requeued one by one from this process, as
``monitor redeliver`` does (on PostgreSQL with the ``NOTIFY`` the workers listen to; on
SQLite the daemon finds them at its next look at the outbox, ``outbox_poll`` = 5 s):
**redeliver** is the time from the requeue's commit to the arrival. Ratios are against the
SQLite process of the same run. The database runs on the same machine (and cores).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench import WORKERS, clean_env, monitor_cmd, write_config
from farm import FarmProcess

from monitor._storage import Storage, Store
from monitor._storage._postgres import PostgresStorage
from monitor._times import parse_iso
from tests.pg import with_schema

SETTINGS = 'interval = "5s"\njitter = 0\nstory_window = "1s"\nper_host = 8'
ROUND_GAP = 3.0  # seconds between two rounds of new items
THRESHOLD = 0.05  # the topic's: many of the farm's items become hits (alerts to time)
QUIET = 4.0  # seconds without a new alert: the set-up has caught up


def settings(config: Path) -> Path:
    """The config with this benchmark's interval (``write_config`` sets 10 minutes) and a low
    threshold: the farm's texts are mostly off the topic, and any hit will do here."""
    text = config.read_text().replace('interval = "10m"\n', "")
    text = text.replace("[[feeds]]", f"threshold = {THRESHOLD}\n[[feeds]]", 1)
    config.write_text(text, encoding="utf-8")
    return config


def wait_quiet(farm: FarmProcess, limit: float = 300) -> None:
    """Until the farm's webhook receiver has had nothing new for ``QUIET`` seconds."""
    last, since, started = -1, time.monotonic(), time.monotonic()
    while time.monotonic() - started < limit:
        count = farm.stats()["hooks"]
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since >= QUIET:
            return
        time.sleep(0.2)
    raise TimeoutError("the alerts did not settle")


def measure(
    farm: FarmProcess, args: argparse.Namespace, open_store: Callable[[], Store]
) -> dict[str, list[float]]:
    """The running set-up's two latencies (ms): new alerts and requeued ones."""
    wait_quiet(farm)  # the first cycle and its burst of alerts: not measured
    farm.reset()
    for n in range(args.rounds):
        farm.advance(new=1, first=args.per_round, start=(n * args.per_round) % args.feeds)
        time.sleep(ROUND_GAP)
    wait_quiet(farm)
    hooks = farm.control("/_farm/hooks")
    new = []
    for _, detected, arrival in hooks:
        when = parse_iso(detected)
        if when is not None:
            new.append((arrival - when.timestamp()) * 1000)
    store = open_store()
    farm.reset()
    asked: dict[str, float] = {}
    for ident, _, _ in hooks[: args.redeliver]:
        store.requeue(ident, datetime.now(UTC))
        asked[ident] = time.time()
        time.sleep(0.3)
    deadline = time.monotonic() + 30
    while len(farm.control("/_farm/hooks")) < len(asked) and time.monotonic() < deadline:
        time.sleep(0.2)
    again = [(arrival - asked[i]) * 1000 for i, _, arrival in farm.control("/_farm/hooks")
             if i in asked]  # fmt: skip
    store.close()
    return {"new alerts": sorted(new), "redeliver": sorted(again)}


def start(config: Path, work: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A `monitor run` logging to a file (a pipe nobody reads would fill and stop it)."""
    with log.open("ab") as out:
        return subprocess.Popen(monitor_cmd(config, "run"), cwd=work, env=env, stderr=out)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sqlite_run(farm: FarmProcess, args: argparse.Namespace) -> dict[str, list[float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-outbox-sqlite-"))
    config = settings(write_config(work, farm.urls, hook=farm.hook, monitor=SETTINGS))
    farm.reset()
    procs = [start(config, work, clean_env(), work / "daemon.log")]
    try:
        return measure(farm, args, lambda: Storage(work / "monitor.db"))
    finally:
        stop(procs)


def postgres_run(
    farm: FarmProcess, args: argparse.Namespace, base: str, workers: int
) -> dict[str, list[float]]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
    dsn = with_schema(base, schema)
    work = Path(tempfile.mkdtemp(prefix="bench-outbox-pg-"))
    config = settings(write_config(work, farm.urls, hook=farm.hook, monitor=SETTINGS))
    text = config.read_text().replace('database = "monitor.db"', 'database_env = "BENCH_DSN"')
    parse = max(1, WORKERS // workers)
    config.write_text(text.replace(f"parse_workers = {WORKERS}", f"parse_workers = {parse}"))
    env = {**clean_env(), "BENCH_DSN": dsn}
    farm.reset()
    procs = [start(config, work, env, work / f"worker{n}.log") for n in range(workers)]
    try:
        return measure(farm, args, lambda: PostgresStorage(dsn))
    finally:
        stop(procs)
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(name: str, runs: dict[str, list[float]], base: dict[str, list[float]]) -> None:
    for what, values in runs.items():
        p95, ref = pct(values, 0.95), pct(base[what], 0.95)
        median = statistics.median(values) if values else float("nan")
        print(f"{name:<26} {what:<11} n={len(values):4d}  median {median:7.0f} ms  "
              f"p95 {p95:7.0f} ms  max {values[-1] if values else float('nan'):7.0f} ms  "
              f"p95 ratio {p95 / ref:6.3f}x", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--redeliver", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[3])
    args = parser.parse_args()
    base = os.environ["MONITOR_TEST_PG_DSN"]
    with FarmProcess(args.feeds, args.items) as farm:
        baseline = sqlite_run(farm, args)
        report("SQLite, 1 process (base)", baseline, baseline)
        for workers in args.workers:
            report(f"PostgreSQL, {workers} worker(s)", postgres_run(farm, args, base, workers),
                   baseline)  # fmt: skip


if __name__ == "__main__":
    main()
