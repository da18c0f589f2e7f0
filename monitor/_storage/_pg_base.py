"""The PostgreSQL connection, its transactions and the translation of psycopg errors (once,
here): the PostgreSQL twin of ``_base``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from .._errors import BusyError, StorageError
from .._times import iso
from ._dialect import POSTGRES
from ._pg_schema import SCHEMA_VERSION, check_version, migrate
from ._versions import log_upgrade

Conn = psycopg.Connection[dict[str, Any]]

LEASE = timedelta(minutes=2)  # default hold of a claimed feed or alert (``[monitor] lease``)
# A server that stops answering (a partition, a dead host) fails a call within about a
# minute, logged, instead of freezing the worker until the kernel gives up (15 min or never):
# libpq's connect timeout, TCP keepalives on an idle connection, and a bound on unacknowledged
# sends. A DSN that sets any of them keeps its own value.
NETWORK_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",  # milliseconds
}


def conninfo(dsn: str) -> str:
    """``dsn`` with ``NETWORK_DEFAULTS`` for the parameters it does not set."""
    given = psycopg.conninfo.conninfo_to_dict(dsn)
    return psycopg.conninfo.make_conninfo(dsn, **{
        k: v for k, v in NETWORK_DEFAULTS.items() if k not in given
    })  # fmt: skip


class PostgresBase:
    """One connection (autocommit between explicit transactions); ``_write`` and ``_read``.
    ``lease``: how long a worker holds the feeds and alerts it claims; ``readonly``: a
    report's, which checks the schema's version and never creates nor migrates it."""

    dialect = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        lease: timedelta = LEASE,
        readonly: bool = False,
        wait: float | None = None,
    ) -> None:
        self.dsn = dsn
        self.lease = lease
        self.wait = wait  # seconds a statement may wait for a lock (None: no bound)
        self.claim_margin = lease  # a claimed delivery is this far ahead (clamping spares it)
        self.worker: str | None = None  # who claims alerts (``set_worker``), for the reports
        self._where = redact_dsn(dsn)
        self.conn: Conn = self._connect()
        try:
            if readonly:
                check_version(self.conn)
            else:
                log_upgrade(self._where, migrate(self.conn), SCHEMA_VERSION)
        except (psycopg.Error, ValueError) as exc:
            self.conn.close()
            raise storage_error(f"{self._where}: cannot use the database", exc) from None

    def _connect(self) -> Conn:
        """A new connection; with ``wait``, its ``lock_timeout`` and ``statement_timeout``."""
        try:
            conn = psycopg.connect(conninfo(self.dsn), autocommit=True, row_factory=dict_row)
        except psycopg.Error as exc:
            raise storage_error(f"{self._where}: cannot use the database", exc) from None
        if self.wait is not None:
            # a statement gets a second more: a lock wait that ends it is logged as the lock
            # timeout it is, not as "statement timeout"
            ms = max(1, round(self.wait * 1000))
            try:
                conn.execute(f"SET lock_timeout = {ms}".encode())
                conn.execute(f"SET statement_timeout = {ms + 1000}".encode())
            except psycopg.Error as exc:
                conn.close()
                raise storage_error(f"{self._where}: cannot use the database", exc) from None
        return conn

    def _live(self) -> Conn:
        """The connection; a new one if the server dropped the last (a restart, a failover):
        the call that met the broken connection failed with a StorageError, the next one
        reconnects."""
        if self.conn.broken:
            self.conn = self._connect()
        return self.conn

    @property
    def where(self) -> str:
        return self._where

    def check_file(self) -> None:
        """Nothing to check: a server's database cannot be replaced under us like a file."""

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _write(self) -> Iterator[Conn]:
        """One transaction; psycopg errors become :class:`StorageError`."""
        conn = self._live()
        try:
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise storage_error(self._where, exc) from None

    def _rows(self, conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """``_read``'s rows, inside the transaction ``conn`` is in."""
        rows = conn.execute(sql.encode(), params).fetchall()
        return [{k: as_text(v) for k, v in row.items()} for row in rows]

    def _run(self, conn: Conn, sql: str, params: Sequence[Any] = ()) -> int:
        return conn.execute(sql.encode(), params).rowcount

    def _serialise(self, conn: Conn, key: str) -> None:
        """Transactions on one ``key`` take turns (an advisory lock until the commit)."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))

    def _run_many(self, conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(sql.encode(), rows)

    def _insert_id(self, conn: Conn, sql: str, params: Sequence[Any]) -> int | None:
        """The new row's id; None when the insert did nothing (``ON CONFLICT DO NOTHING``)."""
        row = conn.execute((sql + " RETURNING id").encode(), params).fetchone()
        return None if row is None else int(row["id"])

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in a transaction of its own; the rows it changed."""
        with self._write() as conn:
            return conn.execute(sql.encode(), params).rowcount

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, timestamps as the ISO text SQLite stores (the same values out)."""
        try:
            rows = self._live().execute(sql.encode(), params).fetchall()
        except psycopg.Error as exc:
            raise storage_error(self._where, exc) from None
        return [{k: as_text(v) for k, v in row.items()} for row in rows]


def as_text(value: Any) -> Any:
    """A timestamp as the ISO text SQLite stores; anything else as it is."""
    return iso(value) if isinstance(value, datetime) else value


def redact_dsn(dsn: str) -> str:
    """The URL without its password (which may come from the environment)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def storage_error(where: str, exc: BaseException) -> StorageError:
    """``exc`` as the error raised from here: :class:`BusyError` when a statement gave up
    waiting for a lock (``lock_timeout``) or ran out of time (``statement_timeout``), its
    transaction rolled back; else StorageError."""
    busy = isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled)
    return (BusyError if busy else StorageError)(f"{where}: {reason(exc)}")


def reason(exc: BaseException) -> str:
    text = (str(exc) or type(exc).__name__).strip().splitlines()
    return text[0] if text else type(exc).__name__
