"""A hit ``keep_hits`` deleted, whose item the feed then edits, on both backends, for real:
a loopback feed → `monitor once` (which applies retention) → the database → a signed webhook.

The edited item is judged again; its hit row was gone, so it alerted again as if new. The
item keeps the topics it was a hit for (``items.expired_hits``), which count as alerted."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._storage import NewItem
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, write_config
from tests.receivers import WebhookReceiver

NOW = datetime.now(UTC).replace(microsecond=0)
ON = next(i for i in load_items(DATA / "clear_items.jsonl") if i["label"] == 2)
LINK = "https://e.test/coalition"

AGE = (  # years pass: what retention compares is the detection and first-seen time
    "UPDATE hits SET detected_at = '2000-01-01T00:00:00Z'",
    "UPDATE items SET first_seen = '2000-01-01T00:00:00Z'",
)


class Backend:
    """Points a written config at one backend and runs SQL on its database (as an admin
    would: to age rows)."""

    def __init__(self, name: str, tmp_path: Path, dsn: str | None) -> None:
        self.name, self.tmp_path, self.dsn = name, tmp_path, dsn

    def point(self, config: Path) -> Path:
        if self.dsn is not None:
            text = config.read_text(encoding="utf-8")
            text = text.replace('database = "monitor.db"', 'database_env = "MONITOR_E2E_DSN"')
            config.write_text(text, encoding="utf-8")
        return config

    def sql(self, statement: str) -> None:
        if self.dsn is None:
            conn = sqlite3.connect(self.tmp_path / "monitor.db")
            with conn:
                conn.execute(statement)
            conn.close()
            return
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as pg:
            pg.execute(statement.encode())

    def age(self) -> None:
        for statement in AGE:
            self.sql(statement)


def make_backend(
    name: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    if name == "sqlite":
        return Backend("sqlite", tmp_path, None)
    dsn: str = request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    monkeypatch.setenv("MONITOR_E2E_DSN", dsn)
    return Backend("postgresql", tmp_path, dsn)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    return make_backend(request.param, request, tmp_path, monkeypatch)


def feed(title: str) -> bytes:
    fillers = [  # the feed's other items: its rhythm
        {"title": f"Tide table {n}", "summary": "High water", "link": f"https://e.test/t{n}",
         "guid": f"t-{n}", "published": NOW - timedelta(hours=2 + n)}
        for n in range(3)
    ]  # fmt: skip
    item = {
        "title": title,
        "summary": ON["summary"],
        "link": LINK,
        "guid": "coalition-1",
        "published": NOW - timedelta(hours=1),
    }
    return rss([item, *fillers])


def test_an_edited_item_whose_hit_keep_hits_deleted_does_not_alert_again(
    tmp_path: Path,
    backend: Backend,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed_server.add("/f.xml", feed(ON["title"]))
    config = backend.point(
        write_config(
            tmp_path,
            [feed_server.url("/f.xml")],
            webhook=webhook_receiver,
            monitor='keep_items = "1d"\nkeep_hits = "1d"',
            threshold=TOY_THRESHOLD,
        )
    )
    assert cli(config, "once") == 0
    [alert] = webhook_receiver.received
    assert alert.json["title"] == ON["title"]
    # three days later: retention (after the next cycle's poll) deletes the hit, sent
    backend.age()
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []  # the hit is gone
    # and the oldest filler (the feed's latest three items stay, the hit's among them)
    assert cli(config, "search", "tide", "--format", "json") == 0
    assert {r["title"] for r in json.loads(capsys.readouterr().out)} == {
        "Tide table 0",
        "Tide table 1",
    }
    # the feed's counts are lifetime totals: what retention deleted still counts
    assert cli(config, "feeds", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["items_seen"], row["hits"]) == (4, 1)

    # the feed edits the item (same GUID and link, a new title): judged again, a hit again,
    # but it was alerted before
    feed_server.add("/f.xml", feed(ON["title"] + " (updated)"))
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 1, [r.json["title"] for r in webhook_receiver.received]
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["items_seen"], row["hits"]) == (4, 1)  # an edit is no new item, nor hit

    capsys.readouterr()
    assert cli(config, "explain", LINK) == 0
    out = capsys.readouterr().out
    assert "was a hit for paris-coalition (alerted), deleted by keep_hits" in out, out


# -- the schema step: SQLite 11 -> 12, PostgreSQL 9 -> 10 ------------------------------------


def test_a_version_11_database_gets_items_expired_hits(tmp_path: Path) -> None:
    from monitor._storage import Storage
    from monitor._storage._schema import _MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for step in range(1, 12):
        migration = _MIGRATIONS[step]
        if callable(migration):
            migration(db)
        else:
            for statement in migration.split(";"):
                if statement.strip():
                    db.execute(statement)
    db.execute("PRAGMA user_version = 11")
    db.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')")
    db.execute(
        "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, first_seen) "
        "VALUES (1, 'id:1', 'fp', 'T', 'S', 'http://a/1', '2025-03-11T08:00:00.000Z')"
    )
    db.close()
    with pytest.raises(Exception, match="older than this monitor's"):  # a report never migrates
        Storage(path, readonly=True)
    Storage(path).close()  # the daemon's open migrates
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 12
    assert db.execute("SELECT title, expired_hits FROM items").fetchall() == [("T", None)]
    db.close()


def test_a_postgres_schema_9_gets_items_expired_hits(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from monitor._storage._pg_schema import SCHEMA_VERSION
    from tests.test_storage_contract import FEED, entry, open_backend, store

    request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    s = open_backend("postgres", tmp_path, request)
    s.sync_feeds([FEED])
    store(s, [NewItem(entry("a"), ())])
    conn = s.conn  # type: ignore[attr-defined]
    conn.execute("ALTER TABLE items DROP COLUMN expired_hits")  # as schema 9 left it
    conn.execute("UPDATE monitor_schema SET version = 9")
    s.close()
    again = open_backend("postgres", tmp_path, request)
    version = again.conn.execute("SELECT version FROM monitor_schema").fetchone()  # type: ignore[attr-defined]
    assert version == {"version": SCHEMA_VERSION} and SCHEMA_VERSION >= 10
    rows = again._read("SELECT key, expired_hits FROM items")  # type: ignore[attr-defined]
    assert rows == [{"key": "id:a", "expired_hits": None}]
    again.close()


def test_migrate_db_carries_the_mark_to_postgresql(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    """A SQLite log whose hit keep_hits deleted, copied to PostgreSQL: the edit met there does
    not alert again either."""
    feed_server.add("/f.xml", feed(ON["title"]))
    url = feed_server.url("/f.xml")
    lite = write_config(
        tmp_path, [url], webhook=webhook_receiver, monitor='keep_hits = "1d"',
        threshold=TOY_THRESHOLD,
    )  # fmt: skip
    assert cli(lite, "once") == 0
    Backend("sqlite", tmp_path, None).age()
    assert cli(lite, "once") == 0  # retention deletes the hit, marks the item
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 0
    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    pg = Backend("postgresql", pg_dir, pg_schema_dsn).point(
        write_config(pg_dir, [url], webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    )
    feed_server.add("/f.xml", feed(ON["title"] + " (updated)"))
    assert cli(pg, "once") == 0
    assert len(webhook_receiver.received) == 1, [r.json["title"] for r in webhook_receiver.received]
