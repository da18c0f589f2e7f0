"""Outbox wake-ups on PostgreSQL (``LISTEN/NOTIFY``), against a real server: a poll that writes
outbox rows and ``monitor redeliver`` wake every listener at their commit (and only then); a
poll without alerts does not; a listener whose connection the server drops fails with a
StorageError, and the next call listens again. SQLite has nothing to listen to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
import pytest

from monitor._errors import StorageError
from monitor._storage import NewItem, Storage
from monitor._storage._postgres import PostgresStorage
from tests.test_storage_contract import FEED, NOW, entry, hit, miss, store

WAIT = 20.0  # seconds: generous, for a loaded machine (a wake-up normally takes milliseconds)


class Listener:
    """``listen_outbox`` of one storage, in a task; counts its wake-ups."""

    def __init__(self, storage: PostgresStorage) -> None:
        self.count = 0
        self.changed = asyncio.Condition()
        self.task = asyncio.create_task(storage.listen_outbox(self.wake))

    def wake(self) -> None:
        self.count += 1
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def reaches(self, count: int) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: self.count >= count or self.task.done())

        await asyncio.wait_for(wait(), WAIT)
        assert self.count == count

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def in_thread(call: Callable[[], object]) -> Awaitable[object]:
    return asyncio.to_thread(call)  # the other process's write, off the listener's loop


def test_outbox_rows_and_redeliver_wake_the_listeners(pg_schema_dsn: str) -> None:
    async def run() -> None:
        mine = PostgresStorage(pg_schema_dsn)
        other = PostgresStorage(pg_schema_dsn)  # another worker, or the CLI
        other.sync_feeds([FEED])
        listeners = [Listener(mine), Listener(mine)]
        for listener in listeners:
            await listener.reaches(1)  # connected: one wake-up for what came before
        await in_thread(lambda: store(other, [NewItem(entry("a"), (miss(),))]))
        await in_thread(lambda: store(other, [NewItem(entry("b"), (hit(),))]))
        for listener in listeners:  # the poll without alerts woke nobody; the one with did
            await listener.reaches(2)
        [hit_row] = other.hits()
        assert await in_thread(lambda: other.requeue("no-such-hit", NOW)) == 0
        assert await in_thread(lambda: other.requeue(hit_row["id"], NOW)) == 2
        for listener in listeners:  # nothing requeued woke nobody; the redeliver did
            await listener.reaches(3)
        for listener in listeners:
            await listener.stop()
        mine.close()
        other.close()

    asyncio.run(run())


def test_another_schema_does_not_wake_this_one(pg_schema_dsn: str) -> None:
    async def run() -> None:
        mine = PostgresStorage(pg_schema_dsn)
        listener = Listener(mine)
        await listener.reaches(1)
        dsn = pg_schema_dsn.rsplit("?", 1)[0]  # the database's default schema: "public"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('monitor_outbox', 'some_other_schema')")
        writer = PostgresStorage(pg_schema_dsn)
        writer.sync_feeds([FEED])
        await in_thread(lambda: store(writer, [NewItem(entry("b"), (hit(),))]))
        await listener.reaches(2)  # this schema's notification only (they arrive in order)
        await listener.stop()
        mine.close()
        writer.close()

    asyncio.run(run())


def test_a_dropped_listener_fails_and_listens_again(pg_schema_dsn: str) -> None:
    async def run() -> None:
        mine = PostgresStorage(pg_schema_dsn)
        listener = Listener(mine)
        await listener.reaches(1)
        mine.conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN monitor_outbox%' AND pid <> pg_backend_pid()"
        )
        with pytest.raises(StorageError, match="outbox listener"):
            await asyncio.wait_for(listener.task, WAIT)
        again = Listener(mine)
        await again.reaches(1)
        await again.stop()
        mine.close()

    asyncio.run(run())


def test_sqlite_has_nothing_to_listen_to(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "m.db")
    woken: list[bool] = []
    asyncio.run(asyncio.wait_for(storage.listen_outbox(lambda: woken.append(True)), WAIT))
    assert woken == []
    storage.close()
