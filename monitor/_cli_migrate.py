"""``monitor migrate-db``: copy a SQLite database into PostgreSQL, resumably."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ._config import is_postgres_url, load_config
from ._errors import MonitorError, StorageError
from ._lock import DatabaseLock


def register(sub: Any) -> None:
    migrate = sub.add_parser(
        "migrate-db",
        help="copy the SQLite database into PostgreSQL (resumable: run it again to continue)",
        description="Copies feeds, items, hits, the outbox, feedback and the learned state of "
        "a SQLite database into an empty PostgreSQL database, a chunk per transaction; "
        "interrupted, the same command continues where it stopped, without duplicates. "
        "Stop `monitor run` on the SQLite file first (the copy takes its lock).",
    )
    migrate.add_argument(
        "--from",
        dest="source",
        help="the SQLite file (default: the config's [monitor] database, when it is a file)",
    )
    target = migrate.add_mutually_exclusive_group()
    target.add_argument(
        "--to", help="postgresql://… (default: the config's, when it names PostgreSQL)"
    )
    target.add_argument(
        "--to-env", metavar="VAR", help="an environment variable holding the postgresql:// URL"
    )
    migrate.add_argument("--chunk", type=int, default=1000, help="rows per transaction")
    migrate.set_defaults(func=cmd_migrate_db)


def cmd_migrate_db(args: argparse.Namespace) -> int:
    config = load_config(args.config, secrets=False)
    settings = config.settings
    dsn = args.to or (os.environ.get(args.to_env) if args.to_env else None) or settings.dsn
    if args.to_env and not os.environ.get(args.to_env):
        raise MonitorError(f"--to-env: the environment variable {args.to_env} is not set")
    if dsn is None:
        raise MonitorError("say where to copy to: --to postgresql://… or --to-env VAR")
    if not is_postgres_url(dsn):  # (never echoed: it may hold a password)
        given = "--to" if args.to else f"--to-env {args.to_env}"
        raise MonitorError(
            f"{given}: expected a postgresql://… URL (migrate-db copies a SQLite database "
            "to PostgreSQL), got something else"
        )
    if args.source is None and settings.dsn is not None:
        raise MonitorError("the config names PostgreSQL: say which SQLite file to copy (--from)")
    source = settings.database if args.source is None else Path(args.source)
    if not source.is_file():
        raise MonitorError(f"{source}: no such SQLite database")
    if args.chunk < 1:
        raise MonitorError("--chunk: expected a positive number of rows")
    from ._storage import Storage
    from ._storage._migrate import migrate_sqlite
    from ._storage._postgres import PostgresStorage

    with DatabaseLock(source):  # no daemon writes to it while it is copied
        Storage(source).close()  # an older file is brought to the current schema first
        target = PostgresStorage(dsn)
        try:
            copied = migrate_sqlite(
                source, target, chunk=args.chunk, progress=lambda t, n: _show(t, n)
            )
        except StorageError:
            print(file=sys.stderr)
            raise
        finally:
            target.close()
    print(
        f"\rcopied {source} to {target.where}: "
        + ", ".join(f"{n} {table}" for table, n in copied.items())
        + " (this run)",
        file=sys.stderr,
    )
    return 0


def _show(table: str, rows: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{table}: {rows} rows", end="", file=sys.stderr, flush=True)
