"""Copy a SQLite database into PostgreSQL (``monitor migrate-db``), resumably.

Every table the PostgreSQL schema has — feeds, items, hits, the outbox (deliveries), channels,
the trackers' learned state (topic_state), feedback, the feed health changes with their alerts
(feed_events, feed_event_deliveries) and the email digests sent — is copied in rowid order, a
chunk at a time (``expired_keys``, which has no rowid, in key order). Each chunk is one
PostgreSQL transaction that also records how far its table got (``monitor_migration``), so a
copy that is interrupted (killed, the network gone) and run again continues after the last
committed chunk: no row is copied twice, none is skipped. Ids are kept (items, hits, deliveries
and feedback refer to each other and the CLI shows them), ``hits.seq`` takes SQLite's rowid
(the order of ``monitor hits``), and the identity sequences are moved past the copied ids at
the end. The columns copied are those both schemas have; what PostgreSQL adds (a feed's
``next_poll``, leases) keeps its default: every feed is due at once, and its first poll is a
conditional request (ETag / Last-Modified).

The source must not change during the copy: the CLI holds the SQLite file's daemon lock. A
source changed between two runs is refused: rows added after a table was copied, rows
updated or deleted after they were copied (each table keeps a running sum of its copied
rows' hashes, checked when a copy resumes), and after a finished copy any change at all.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import MonitorError, StorageError
from ._postgres import PostgresStorage

# (table, PostgreSQL identity column set from the copied value), in foreign-key order
TABLES: tuple[tuple[str, str | None], ...] = (
    ("feeds", "id"),
    ("items", "id"),
    ("hits", "seq"),
    ("deliveries", "id"),
    ("channels", None),
    ("topic_state", None),
    ("feedback", "id"),
    ("feed_events", "seq"),  # feed health changes, and their alerts' outbox
    ("feed_event_deliveries", "id"),
    ("digests", None),  # the email digests sent: the next slot counts from the last
)
CHUNK = 1000
# Columns both schemas have that must keep PostgreSQL's default: SQLite's ``feeds.next_poll``
# is an adaptive feed's decided moment (NULL for the others), PostgreSQL's is every feed's
# claim due time (NOT NULL, default now): every feed is due at once after the copy.
_NOT_COPIED = frozenset({("feeds", "next_poll")})

_PROGRESS = (
    "CREATE TABLE IF NOT EXISTS monitor_migration (tbl text PRIMARY KEY, source text NOT NULL, "
    "last_rowid bigint NOT NULL, done boolean NOT NULL DEFAULT false)",
    "ALTER TABLE monitor_migration ADD COLUMN IF NOT EXISTS digest text",
)

Progress = Callable[[str, int], None]  # (table, rows of this table copied so far)


def migrate_sqlite(
    source: Path,
    target: PostgresStorage,
    *,
    chunk: int = CHUNK,
    progress: Progress = lambda table, rows: None,
) -> dict[str, int]:
    """Copy ``source`` into ``target`` (see the module's note); return the rows copied per
    table by this run. ``progress`` is called inside each chunk's transaction, before it
    commits (an exception there rolls the chunk back, as an interruption would)."""
    try:
        lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"{source}: cannot read: {exc}") from None
    try:
        return _copy(lite, str(source.resolve()), target, chunk, progress)
    except sqlite3.Error as exc:
        raise StorageError(f"{source}: {exc}") from None
    finally:
        lite.close()


def _copy(
    lite: sqlite3.Connection,
    source: str,
    target: PostgresStorage,
    chunk: int,
    progress: Progress,
) -> dict[str, int]:
    with target._write() as conn:
        for statement in _PROGRESS:
            conn.execute(statement.encode())
        rows = conn.execute(b"SELECT * FROM monitor_migration").fetchall()
        state = {row["tbl"]: (row["source"], row["last_rowid"], row["done"]) for row in rows}
        sums = {row["tbl"]: row["digest"] for row in rows if row["digest"] is not None}
        others = {src for src, _, _ in state.values()} - {source}
        if others:
            raise MonitorError(
                f"{target.where} holds a copy of another database ({others.pop()}); "
                "migrate into an empty database"
            )
        if not state and conn.execute(b"SELECT 1 FROM feeds LIMIT 1").fetchone():
            raise MonitorError(
                f"{target.where} is not empty (it has feeds already); "
                "migrate into an empty database"
            )
    finished = state.get(_SOURCE)
    if finished is not None and _source_digest(lite) != _stored_digest(target):
        raise MonitorError(
            f"{source} has changed since it was copied: the copy in {target.where} is out of "
            "date; migrate into an empty database, with no daemon running on the SQLite file"
        )
    for table, (_, last, done) in state.items():
        if table in (_KEYS, _SOURCE) or not done:
            continue
        (newest,) = lite.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()
        if newest > last:  # a resumed copy would miss these rows and what refers to them
            raise MonitorError(
                f"{source} has changed since it was copied ({table} has rows after the "
                f"copy): the copy in {target.where} is out of date; migrate into an empty "
                "database, with no daemon running on the SQLite file"
            )
    for table, (_, last, _) in state.items():
        if (
            table in sums
            and table != _SOURCE
            and _row_sum(lite, target, table, last) != sums[table]
        ):
            raise MonitorError(  # a resumed copy would keep them as they were copied
                f"{source} has changed since it was copied ({table} has rows updated or "
                f"deleted since): the copy in {target.where} is out of date; migrate into an "
                "empty database, with no daemon running on the SQLite file"
            )
    copied: dict[str, int] = {}
    for table, _ in TABLES:
        _, last, done = state.get(table, (source, 0, False))
        if not done:
            copied[table] = _copy_table(
                lite, source, target, table, (last, sums.get(table)), chunk, progress
            )
        else:
            copied[table] = 0
    copied[_KEYS] = 0
    if not state.get(_KEYS, (source, 0, False))[2]:
        copied[_KEYS] = _copy_keys(lite, source, target, chunk)
    with target._write() as conn:
        for table, identity in TABLES:
            if identity is not None:  # new rows continue after the copied ids
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'), "
                    f"coalesce(max({identity}), 1), max({identity}) IS NOT NULL) "
                    f"FROM {table}".encode()
                )
        # the source as copied: a later run that finds it changed refuses (not "0 rows")
        conn.execute(
            "INSERT INTO monitor_migration (tbl, source, last_rowid, done, digest) "
            "VALUES (%s, %s, 0, true, %s) ON CONFLICT (tbl) DO UPDATE SET digest = "
            "coalesce(monitor_migration.digest, excluded.digest)",
            (_SOURCE, source, _source_digest(lite)),
        )
        # an id SQLite will never give again (AUTOINCREMENT: a removed judgement's or
        # delivery's) neither
        for table in ("feedback", "deliveries"):
            given = _sqlite_sequence(lite, table)
            if given:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"greatest(%s, (SELECT coalesce(max(id), 0) FROM {table})), true)".encode(),
                    (given,),
                )
    return copied


_KEYS = "expired_keys"  # SQLite's is WITHOUT ROWID: copied in key order, idempotently
_SOURCE = "(source)"  # monitor_migration's row for the finished copy: the source's digest
_LARGE = frozenset({"items", "hits"})  # only grow (retention aside): counted, not hashed


def _source_digest(lite: sqlite3.Connection) -> str:
    """What the copy was made of: every table's rows hashed (the large ones counted, with
    their last rowid), so that an update or a deletion shows as well as a new row."""
    digest = hashlib.sha256()
    for table in [t for t, _ in TABLES] + [_KEYS]:
        exists = lite.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if not exists:
            continue
        if table in _LARGE:
            rows = lite.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM {table}")
        else:
            order = "feed_id, key" if table == _KEYS else "rowid"
            rows = lite.execute(f"SELECT * FROM {table} ORDER BY {order}")
        digest.update(table.encode())
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _stored_digest(target: PostgresStorage) -> str | None:
    rows = target._read("SELECT digest FROM monitor_migration WHERE tbl = %s", (_SOURCE,))
    return str(rows[0]["digest"]) if rows and rows[0]["digest"] else None


def _copy_keys(lite: sqlite3.Connection, source: str, target: PostgresStorage, chunk: int) -> int:
    """The keys of the items retention deleted (schema 8), so that on PostgreSQL too a feed
    that still lists one does not bring it back as new (and alert it again)."""
    if not lite.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_KEYS,)
    ).fetchone():
        return 0
    after: tuple[int, str] = (-1, "")
    total = 0
    while True:
        rows = lite.execute(
            f"SELECT feed_id, key, fingerprint, expired_at FROM {_KEYS} "
            "WHERE (feed_id, key) > (?, ?) ORDER BY feed_id, key LIMIT ?",
            (*after, chunk),
        ).fetchall()
        with target._write() as conn:
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {_KEYS} (feed_id, key, fingerprint, expired_at) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        rows,
                    )
                after = (rows[-1][0], rows[-1][1])
            conn.execute(
                "INSERT INTO monitor_migration (tbl, source, last_rowid, done) "
                "VALUES (%s, %s, 0, %s) ON CONFLICT (tbl) DO UPDATE SET done = excluded.done",
                (_KEYS, source, not rows),
            )
        total += len(rows)
        if not rows:
            return total


def _sqlite_sequence(lite: sqlite3.Connection, table: str) -> int:
    try:
        row = lite.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table at all (an old schema)
        return 0
    return int(row[0]) if row else 0


def _columns(lite: sqlite3.Connection, target: PostgresStorage, table: str) -> list[str]:
    """The columns of ``table`` copied: those both schemas have, but :data:`_NOT_COPIED`."""
    theirs = {
        row["column_name"]
        for row in target._read(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
    }
    ours = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
    return [c for c in ours if c in theirs and (table, c) not in _NOT_COPIED]


_SUM = 1 << 128


def _add_rows(total: int, rows: list[Any]) -> int:
    """A running sum of the rows' hashes (order-free, so one per table builds chunk by
    chunk): any row updated or deleted after it was copied changes it."""
    for row in rows:
        total += int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest()[:16], "big")
    return total % _SUM


def _row_sum(lite: sqlite3.Connection, target: PostgresStorage, table: str, last: int) -> str:
    """The running sum of ``table``'s rows up to rowid ``last``, as the source has them now."""
    columns = ", ".join(_columns(lite, target, table))
    rows = lite.execute(f"SELECT rowid, {columns} FROM {table} WHERE rowid <= ?", (last,))
    return f"{_add_rows(0, rows.fetchall()):032x}"


def _copy_table(
    lite: sqlite3.Connection,
    source: str,
    target: PostgresStorage,
    table: str,
    resume: tuple[int, str | None],
    chunk: int,
    progress: Progress,
) -> int:
    last, stored = resume
    # part-copied by a release that kept no sum: none kept (it would cover only what follows)
    summed = stored is not None or last == 0
    total_sum = int(stored, 16) if stored else 0
    columns = _columns(lite, target, table)
    into = [*columns, "seq"] if table == "hits" else columns  # SQLite's rowid: the hits' order
    insert = (
        f"INSERT INTO {table} ({', '.join(into)}) OVERRIDING SYSTEM VALUE "
        f"VALUES ({', '.join(['%s'] * len(into))})"
    )
    select = (
        f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    total = 0
    while True:
        rows = lite.execute(select, (last, chunk)).fetchall()
        with target._write() as conn:
            if rows:
                values = [(*row[1:], row[0]) if table == "hits" else row[1:] for row in rows]
                with conn.cursor() as cur:
                    cur.executemany(insert.encode(), values)
                last = rows[-1][0]
                total_sum = _add_rows(total_sum, rows) if summed else 0
            conn.execute(
                "INSERT INTO monitor_migration (tbl, source, last_rowid, done, digest) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tbl) DO UPDATE SET "
                "last_rowid = excluded.last_rowid, done = excluded.done, "
                "digest = excluded.digest",
                (table, source, last, not rows, f"{total_sum:032x}" if summed else None),
            )
            total += len(rows)
            if rows:
                progress(table, total)
        if not rows:
            return total
