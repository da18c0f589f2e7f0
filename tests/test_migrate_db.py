"""`monitor migrate-db`: a real SQLite log (made by `monitor once`, with feedback and a
pending retry) copied into PostgreSQL, interrupted mid-way and resumed, gives the same
reports on both backends; a new poll on PostgreSQL then continues after the copied ids."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor._errors import StorageError
from monitor._storage import Storage
from monitor._storage._migrate import migrate_sqlite
from monitor._storage._postgres import PostgresStorage
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver
from tests.test_postgres_cycle import pg_config

ITEMS = load_items(DATA / "clear_items.jsonl")
REPORTS = (
    ("hits", "--format", "json"),
    ("hits",),
    ("feeds", "--format", "json"),
    ("deliveries", "--format", "json"),
    ("feedback", "--list", "--format", "json"),
)


class Interrupted(Exception):
    pass


def interrupt_in(table: str, after: int) -> Callable[[str, int], None]:
    """A ``progress`` callback that interrupts the copy once ``table`` has more than
    ``after`` rows copied (inside that chunk: it is rolled back)."""

    def interrupt(copying: str, rows: int) -> None:
        if copying == table and rows > after:
            raise Interrupted

    return interrupt


def reports(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    out = {}
    for args in REPORTS:
        capsys.readouterr()
        assert cli(config, *args) == 0
        out[" ".join(args)] = capsys.readouterr().out
    return out


def test_migrate_interrupted_and_resumed_gives_identical_reports(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = list(serve_items(feed_server, ITEMS).values())
    lite = write_config(tmp_path, urls, webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    webhook_receiver.fail_next(2)  # two alerts stay pending, with a retry time
    assert cli(lite, "once") == 0
    capsys.readouterr()
    assert cli(lite, "hits", "--format", "json") == 0
    first_hit = capsys.readouterr().out.split('"id": "')[1].split('"')[0]
    assert cli(lite, "feedback", first_hit, "--irrelevant") == 0
    before = reports(lite, capsys)
    assert '"pending"' in before["deliveries --format json"]
    database = tmp_path / "monitor.db"

    # interrupted inside its third chunk of items: that chunk is rolled back
    target = PostgresStorage(pg_schema_dsn)
    with pytest.raises(Interrupted):
        migrate_sqlite(database, target, chunk=2, progress=interrupt_in("items", 4))
    assert target._read("SELECT count(*) AS n FROM items")[0]["n"] == 4
    assert target._read("SELECT count(*) AS n FROM hits")[0]["n"] == 0
    target.close()

    # resumed from the command line; a third run copies nothing
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    copy = ("migrate-db", "--to-env", "MONITOR_E2E_DSN", "--chunk", "3")
    assert cli(lite, *copy) == 0
    assert f"{len(ITEMS) - 4} items" in capsys.readouterr().err
    assert cli(lite, *copy) == 0
    again = capsys.readouterr().err
    assert "0 feeds, 0 items, 0 hits, 0 deliveries" in again and "0 expired_keys" in again

    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    pg = pg_config(pg_dir, urls, webhook_receiver)
    after = reports(pg, capsys)
    assert after == before

    sqlite_store, pg_store = Storage(database, readonly=True), PostgresStorage(pg_schema_dsn)
    assert pg_store.topic_state("paris-coalition") == sqlite_store.topic_state("paris-coalition")
    assert pg_store.feedback() == sqlite_store.feedback()
    sqlite_store.close()

    # the copy is a working database: new items and hits continue after the copied ids
    new = {"title": "Paris hosts a coalition summit on Ukraine", "link": "https://e.test/new"}
    feed_server.add("/feed0.xml", rss([new]))
    assert cli(pg, "once") == 0
    assert pg_store._read("SELECT count(*) AS n FROM items")[0]["n"] == len(ITEMS) + 1
    pg_store.close()


def test_migrate_refuses_a_database_that_is_not_empty(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = list(serve_items(feed_server, ITEMS[:2]).values())
    lite = write_config(tmp_path, urls)
    assert cli(lite, "once") == 0
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    assert cli(pg_config(pg_dir, urls, webhook_receiver), "once") == 0  # a live PG database
    capsys.readouterr()
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 1
    assert "is not empty" in capsys.readouterr().err


def test_migrate_killed_mid_copy_resumes_without_duplicates(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The copy in a real process, killed with SIGKILL while it copies the items."""
    urls = list(serve_items(feed_server, ITEMS).values())
    lite = write_config(tmp_path, urls, webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    assert cli(lite, "once") == 0
    database = tmp_path / "monitor.db"
    with sqlite3.connect(database) as conn:  # a bigger log: 4,000 more items, same feeds
        for n in range(4000 // len(ITEMS)):
            conn.execute(
                "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, published, "
                "first_seen, score, topic) SELECT feed_id, key || ?, fingerprint, title, "
                "summary, link, published, first_seen, score, topic FROM items WHERE id <= ?",
                (f"#copy{n}", len(ITEMS)),
            )
    conn.close()
    total = sqlite3.connect(database).execute("SELECT count(*) FROM items").fetchone()[0]
    before = reports(lite, capsys)

    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    copy = ["migrate-db", "--to-env", "MONITOR_E2E_DSN", "--chunk", "10"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(lite), *copy],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    target = PostgresStorage(pg_schema_dsn)

    def items_copied() -> int:
        try:
            rows = target._read("SELECT last_rowid FROM monitor_migration WHERE tbl = 'items'")
        except StorageError:  # the progress table does not exist yet
            return 0
        return int(rows[0]["last_rowid"]) if rows else 0

    deadline = time.monotonic() + 30
    while items_copied() < 200 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    copied = target._read("SELECT count(*) AS n FROM items")[0]["n"]
    assert 200 <= copied < total, "the copy was not interrupted while it copied the items"
    assert copied == items_copied()  # what is there is exactly what the progress says
    target.close()

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    assert cli(lite, *copy) == 0
    assert f"{total - copied} items" in capsys.readouterr().err
    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    assert reports(pg_config(pg_dir, urls, webhook_receiver), capsys) == before
    target = PostgresStorage(pg_schema_dsn)
    assert target._read("SELECT count(*) AS n FROM items")[0]["n"] == total
    target.close()


def test_migrate_keeps_what_retention_deleted_ids_and_refuses_a_changed_source(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three things the copy lost: the keys of items retention deleted (on PostgreSQL they
    came back as new and alerted again under their old ids), the feedback ids SQLite will
    never give again (a removed `fb_1` was given again), and a source that changed after a
    finished copy (a second run said "0 rows" and left the copy out of date)."""
    from datetime import UTC, datetime, timedelta

    on = next(i for i in ITEMS if i["label"] == 2)
    undated = {"title": on["title"], "summary": on["summary"], "link": "https://e.test/u",
               "guid": "u-1"}  # fmt: skip
    fillers = [
        {"title": f"Tide table {n}", "summary": "", "link": f"https://e.test/t{n}",
         "guid": f"t-{n}", "published": datetime.now(UTC) - timedelta(hours=n)}
        for n in range(3)
    ]  # fmt: skip
    feed_server.add("/f.xml", rss([undated, *fillers]))
    url = feed_server.url("/f.xml")
    lite = write_config(
        tmp_path, [url], webhook=webhook_receiver,
        monitor='keep_items = "1d"\nkeep_hits = "1d"',
    )  # fmt: skip
    assert cli(lite, "once") == 0
    assert len(webhook_receiver.received) == 1
    db = sqlite3.connect(tmp_path / "monitor.db")
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    with db:
        db.execute("UPDATE items SET first_seen = ?", (old,))
        db.execute("UPDATE hits SET detected_at = ?", (old,))
    assert cli(lite, "once") == 0  # retention deletes the undated item and its hit
    assert db.execute("SELECT count(*) FROM expired_keys").fetchone()[0] == 1
    db.close()
    (hit,) = [r.json["id"] for r in webhook_receiver.received]
    capsys.readouterr()
    assert cli(lite, "feedback", "https://e.test/t0", "--irrelevant") == 0  # fb_1 ...
    assert cli(lite, "feedback", "--remove", "fb_1") == 0  # ... removed: never given again

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 0
    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    pg = pg_config(pg_dir, [url], webhook_receiver)
    feed_server.add(
        "/f.xml", rss([undated, *fillers, {"title": "New", "link": "https://e.test/n"}])
    )
    assert cli(pg, "once") == 0
    assert [r.json["id"] for r in webhook_receiver.received] == [hit]  # not alerted again
    capsys.readouterr()
    assert (
        cli(pg, "feedback", "https://e.test/t1", "--irrelevant", "--topic", "paris-coalition") == 0
    )
    assert "feedback fb_2:" in capsys.readouterr().out

    capsys.readouterr()  # a change that adds no row: a judgement removed, a feed paused
    assert cli(lite, "feeds", "pause", url) == 0
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 1
    assert "changed since it was copied" in capsys.readouterr().err
    assert cli(lite, "feeds", "resume", url) == 0
    assert cli(lite, "once") == 0  # ... and new rows
    capsys.readouterr()
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 1
    err = capsys.readouterr().err
    assert "changed since it was copied" in err, err


def test_a_resumed_copy_refuses_rows_changed_since_they_were_copied(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An interrupted copy resumed after the SQLite file changed: rows already copied that
    were updated meanwhile (a feed paused, an alert delivered) stayed as they were copied, and
    the copy was accepted (a delivery left pending on PostgreSQL is sent a second time)."""
    urls = list(serve_items(feed_server, ITEMS).values())
    lite = write_config(tmp_path, urls, webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    webhook_receiver.fail_next(100)  # every alert stays pending
    assert cli(lite, "once") == 0
    database = tmp_path / "monitor.db"

    target = PostgresStorage(pg_schema_dsn)
    with pytest.raises(Interrupted):
        migrate_sqlite(database, target, chunk=2, progress=interrupt_in("deliveries", 2))
    target.close()
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    copy = ("migrate-db", "--to-env", "MONITOR_E2E_DSN")
    db = sqlite3.connect(database)
    (was,) = db.execute("SELECT status, delivered_at FROM deliveries WHERE id = 1").fetchall()
    with db:  # the daemon delivered it meanwhile (the first chunk of deliveries is copied)
        db.execute(
            "UPDATE deliveries SET status = 'delivered', delivered_at = '2026-01-01' WHERE id = 1"
        )
    capsys.readouterr()
    assert cli(lite, *copy) == 1
    err = capsys.readouterr().err
    assert "changed since it was copied (deliveries has rows updated or deleted" in err, err
    with db:
        db.execute("UPDATE deliveries SET status = ?, delivered_at = ? WHERE id = 1", was)
    db.close()
    assert cli(lite, "feeds", "pause", urls[0]) == 0  # a finished table
    capsys.readouterr()
    assert cli(lite, *copy) == 1
    assert "(feeds has rows updated or deleted" in capsys.readouterr().err
    with sqlite3.connect(database) as db:  # back as it was copied (`resume` resets more)
        db.execute("UPDATE feeds SET paused = 0")
    db.close()
    capsys.readouterr()
    assert cli(lite, *copy) == 0, capsys.readouterr().err  # as it was copied: it goes on


def test_a_copy_begun_by_an_earlier_release_resumes(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    """A table part-copied by a release that kept no sums: the sum begun at the resume
    covered only the rows copied since, and the next resume refused an unchanged source."""
    urls = list(serve_items(feed_server, ITEMS).values())
    lite = write_config(tmp_path, urls, webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    webhook_receiver.fail_next(100)
    assert cli(lite, "once") == 0
    database = tmp_path / "monitor.db"

    target = PostgresStorage(pg_schema_dsn)
    with pytest.raises(Interrupted):
        migrate_sqlite(database, target, chunk=1, progress=interrupt_in("deliveries", 1))
    target._execute("UPDATE monitor_migration SET digest = NULL")  # as the earlier release
    with pytest.raises(Interrupted):
        migrate_sqlite(database, target, chunk=1, progress=interrupt_in("deliveries", 1))
    copied = migrate_sqlite(database, target, chunk=1)
    assert copied["deliveries"] > 0
    target.close()


@pytest.mark.parametrize("target", ["sqlite:///tmp/x.db", "/tmp/x.db", "mysql://u:pw@h/db"])
def test_a_target_that_is_not_postgresql_is_named_as_such(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--to sqlite:///…` said "say where to copy to", as if --to were missing."""
    config = write_config(tmp_path, ["http://127.0.0.1:1/f.xml"])
    capsys.readouterr()
    assert cli(config, "migrate-db", "--to", target) == 1
    err = capsys.readouterr().err
    assert "--to: expected a postgresql://… URL" in err and "say where" not in err
    assert "pw" not in err  # the value is never echoed: it may hold a password
