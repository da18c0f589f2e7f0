"""Throughput of several `monitor run` workers on PostgreSQL beside the single SQLite process
(issue 12), on the same farm bytes: the first cycle (every item new) and a steady cycle
(every feed answers 304).

    MONITOR_TEST_PG_DSN=postgresql://… python benchmarks/bench_workers.py [--feeds 1000]
        [--items 50] [--workers 1 2]

SQLite: `monitor once` (wall time, start-up included), twice. PostgreSQL: W `monitor run`
processes (the 2 cores' parser processes split between them) in a throw-away schema; the
first cycle is timed from their start until every item is stored, the steady cycle from
making every feed due again until every feed has been polled. The database runs on the same
machine (and cores).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench import WORKERS, clean_env, run_monitor, stop_daemon, write_config
from farm import FarmProcess

from tests.pg import with_schema


def wait_for(conn: psycopg.Connection[tuple[object, ...]], sql: str, want: int) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            row = conn.execute(sql.encode()).fetchone()
        except psycopg.errors.UndefinedTable:  # the workers have not created the schema yet
            row = None
        if row is not None and int(str(row[0] or 0)) >= want:
            return
        time.sleep(0.05)
    raise TimeoutError(sql)


def postgres_run(
    farm: FarmProcess, base: str, workers: int, feeds: int, items: int
) -> tuple[float, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
    dsn = with_schema(base, schema)
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    parse = max(1, WORKERS // workers)
    config = write_config(work, farm.urls, monitor='per_host = 8\nlease = "5m"')
    text = config.read_text().replace('database = "monitor.db"', 'database_env = "BENCH_DSN"')
    config.write_text(text.replace(f"parse_workers = {WORKERS}", f"parse_workers = {parse}"))
    env = {**clean_env(), "BENCH_DSN": dsn}
    cmd = [
        sys.executable,
        "-m",
        "monitor",
        "--config",
        str(config),
        "--log-level",
        "warning",
        "run",
    ]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for _ in range(workers)]  # fmt: skip
            try:
                wait_for(conn, "SELECT count(*) FROM items", feeds * items)
                first = time.perf_counter() - started
                time.sleep(1)
                mark = datetime.now(UTC)
                conn.execute("UPDATE feeds SET next_poll = now()")
                started = time.perf_counter()
                wait_for(
                    conn,
                    f"SELECT count(*) FROM feeds WHERE last_polled > '{mark.isoformat()}'",
                    feeds,
                )
                steady = time.perf_counter() - started
            finally:
                for proc in procs:
                    stop_daemon(proc)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())
    return first, steady


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    base = os.environ["MONITOR_TEST_PG_DSN"]
    with FarmProcess(args.feeds, args.items) as farm:
        work = Path(tempfile.mkdtemp(prefix="bench-workers-sqlite-"))
        config = write_config(work, farm.urls)
        first = run_monitor(config).seconds
        steady = run_monitor(config).seconds
        print(
            f"SQLite, 1 process:          first {first:6.2f} s, steady {steady:5.2f} s", flush=True
        )
        for workers in args.workers:
            first, steady = postgres_run(farm, base, workers, args.feeds, args.items)
            print(
                f"PostgreSQL, {workers} worker(s):    first {first:6.2f} s, "
                f"steady {steady:5.2f} s (steady: from due to polled, start-up excluded)",
                flush=True,
            )


if __name__ == "__main__":
    main()
