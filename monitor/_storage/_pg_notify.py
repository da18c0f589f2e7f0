"""PostgreSQL: outbox wake-ups with ``LISTEN/NOTIFY``. A transaction that makes outbox rows due
(a poll's hits, ``monitor redeliver``) sends a notification on :data:`OUTBOX_CHANNEL` with the
schema's name as payload; it is delivered when the transaction commits (and not at all if it
rolls back). Every worker's deliverer listens on its own connection and looks at the outbox at
once, instead of at its next ``outbox_poll``, which stays as the fallback (a notification is
lost while a listener reconnects; the listener wakes the deliverer after every (re)connect).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from .._errors import StorageError
from ._pg_base import Conn, PostgresBase, conninfo, reason

OUTBOX_CHANNEL = "monitor_outbox"


def notify_outbox(conn: Conn) -> None:
    """Inside a transaction that made outbox rows due: wake the deliverers at its commit. The
    payload names the schema, so that monitors sharing a database in other schemas are not
    woken (identical notifications of one transaction are sent once)."""
    conn.execute(b"SELECT pg_notify('" + OUTBOX_CHANNEL.encode() + b"', current_schema())")


class PgNotifyMixin(PostgresBase):
    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` for every outbox notification of this schema, and once as soon as the
        listener is connected (rows made due while nobody listened); until cancelled. A lost
        connection raises :class:`StorageError` (the deliverer calls again after a pause)."""
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo(self.dsn), autocommit=True)
        except (psycopg.Error, OSError) as exc:
            raise StorageError(f"{self.where}: outbox listener: {reason(exc)}") from None
        try:
            async with conn:
                found = await (await conn.execute(b"SELECT current_schema()")).fetchone()
                schema = found[0] if found else None
                await conn.execute(f"LISTEN {OUTBOX_CHANNEL}".encode())
                wake()
                async for notice in conn.notifies():
                    if notice.payload == schema:
                        wake()
        except (psycopg.Error, OSError) as exc:
            raise StorageError(f"{self.where}: outbox listener: {reason(exc)}") from None
        raise StorageError(f"{self.where}: outbox listener: the connection ended")
