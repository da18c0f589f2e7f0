"""Email digests on PostgreSQL: the shared queries (``_digests``), sent by one worker at a
time (a session advisory lock, tried, not waited for: the others find the rows delivered)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

from .._errors import StorageError
from ._digests import DigestsMixin
from ._pg_base import PostgresBase, reason

_DIGEST_LOCK = 0x6D6F6E6469676573  # "mondiges": the advisory lock of the digest sender


class PgDigestsMixin(PostgresBase, DigestsMixin):
    @contextmanager
    def digest_lock(self) -> Iterator[bool]:
        conn = self._live()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_DIGEST_LOCK,)).fetchone()
        except psycopg.Error as exc:
            raise StorageError(f"{self._where}: digest lock: {reason(exc)}") from None
        got = bool(row and row["got"])
        try:
            yield got
        finally:
            if got and not conn.broken and not conn.closed:
                # a session lost meanwhile (the server restarted) lost its lock with it
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_DIGEST_LOCK,))
