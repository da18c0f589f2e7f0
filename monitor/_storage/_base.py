"""The connection, its transactions and the translation of sqlite3 errors (once, here)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._errors import BusyError, DatabaseReplacedError, StorageError
from ._dialect import SQLITE
from ._private import create_private, make_private
from ._schema import SCHEMA_VERSION, check_version, migrate
from ._versions import log_upgrade

BUSY_TIMEOUT_MS = 5000


class StorageBase:
    """One SQLite connection (WAL, busy timeout); ``_write`` and ``_read`` for the mixins.

    ``readonly`` (the CLI's reports): opened with ``mode=ro``, never created nor migrated; a
    file of another schema version is refused. Every write first checks that the path still
    names the file that was opened (:meth:`check_file`): a deleted or replaced database is an
    error, never a silent write into an unlinked file.
    """

    dialect = SQLITE

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        try:
            make_private(path)
            if readonly:
                conn = _open_report(path)
            else:
                create_private(path)
                conn = sqlite3.connect(
                    path,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                log_upgrade(str(path), migrate(conn), SCHEMA_VERSION)
            self._identity = _identity(path)
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise storage_error(f"{path}: cannot use the database", exc) from None
        self.conn = conn

    @property
    def where(self) -> str:
        """The database, as messages name it."""
        return str(self.path)

    def check_file(self) -> None:
        """Raise :class:`DatabaseReplacedError` if the path no longer names the opened file.
        Its write-ahead log is emptied into the file it belongs to first: left beside the
        file now at the path (a backup put in place), the next start would apply it there."""
        try:
            same = _identity(self.path) == self._identity
        except OSError:
            same = False
        if not same:
            self._disown_log()
            raise DatabaseReplacedError(
                f"{self.path}: the database file was deleted or replaced while in use; "
                "stopping (nothing more is written to it)"
            )

    def _disown_log(self) -> None:
        """Checkpoint this connection's log into the file it opened (written through its open
        descriptor, whatever the path names now) and truncate it, so that what is left at
        ``<database>-wal`` is empty."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``)."""
        self.check_file()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(str(self.path), exc) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise storage_error(str(self.path), exc) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def _rows(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        cursor = conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _run(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> int:
        return conn.execute(sql, params).rowcount

    def _serialise(self, conn: sqlite3.Connection, key: str) -> None:
        """Nothing to do: a write transaction is taken at once (``BEGIN IMMEDIATE``)."""

    def _run_many(self, conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def _insert_id(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int | None:
        """The new row's id; None when the insert did nothing (``ON CONFLICT DO NOTHING``)."""
        cursor = conn.execute(sql, params)
        return cursor.lastrowid if cursor.rowcount else None

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in a transaction of its own; the rows it changed."""
        with self._write() as conn:
            return conn.execute(sql, params).rowcount

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]
        except sqlite3.Error as exc:
            raise storage_error(str(self.path), exc) from None


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def storage_error(where: str, exc: BaseException) -> StorageError:
    """``exc`` as the error raised from here: :class:`BusyError` when another connection held
    the lock past the busy timeout (a caller may say "busy, try again"), else StorageError."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes keep the primary's
    busy = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(exc)
    return (BusyError if busy else StorageError)(f"{where}: {reason(exc)}")


def reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "the file is not a SQLite database or is corrupt"
    if "database is locked" in text:
        return "the database is locked by another process (tried for 5 s)"
    if "disk is full" in text or "database or disk is full" in text:
        return "the disk is full"
    return text


def _open_report(path: Path) -> sqlite3.Connection:
    """A report's connection: read-only, its schema version checked. A copy in a directory
    this process cannot write is read as it is (immutable) if no write-ahead log is beside
    it; with one, the error says what to do."""
    wal = path.with_name(path.name + "-wal")
    conn = _open_readonly(path)
    try:
        check_version(conn)  # (waits up to BUSY_TIMEOUT_MS on a lock: the connect's timeout)
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()  # a WAL file's reader makes <db>-shm: in an unwritable directory it cannot
        if os.access(path.parent, os.W_OK):
            raise
        if wal.exists() and wal.stat().st_size:
            raise StorageError(
                f"{path}: cannot use the database: {reason(exc)} (its write-ahead log {wal} "
                "needs a directory this process can write; copy the database alone with "
                f'`sqlite3 {path.name} ".backup COPY"`, or read it where it was written)'
            ) from None
    conn = _open_readonly(path, immutable=True)
    check_version(conn)
    return conn


def _open_readonly(path: Path, *, immutable: bool = False) -> sqlite3.Connection:
    """``mode=ro``; ``immutable``: also no locks and no ``-shm`` (a copy nothing writes)."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else ""),
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
