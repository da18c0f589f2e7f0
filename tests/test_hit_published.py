"""`hits.published`: the judged item's publication time, as the feed gave it, on each hit row
(SQLite schema 11, PostgreSQL schema 9), so that a late-arriving old item (published days ago,
detected now) reads differently from a new story in sqlite3, Datasette and `monitor hits`.
Real feeds on loopback, real SQLite files and PostgreSQL schemas; upgrades from the schema
before, and `migrate-db`."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor._storage import NewItem, Storage
from monitor._storage._schema import _MIGRATIONS
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, write_config
from tests.receivers import WebhookReceiver
from tests.test_postgres_cycle import pg_config
from tests.test_storage_contract import CHANNELS, FEED, NOW, entry, hit, miss, open_backend, store

OLD = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)  # days before anything is detected
OLD_TEXT = "2025-03-01T06:30:00.000Z"
ON_TOPIC = [i for i in load_items(DATA / "clear_items.jsonl") if i["label"] == 2]


def serve_old_and_undated(feed_server: FeedServer) -> str:
    """One feed: an on-topic item with an old pubDate and one with none."""
    old, undated = ON_TOPIC[0], ON_TOPIC[2]
    items = [
        {"title": old["title"], "summary": old["summary"], "link": "https://e.test/old",
         "guid": "old", "published": OLD},
        {"title": undated["title"], "summary": undated["summary"],
         "link": "https://e.test/undated", "guid": "undated"},
    ]  # fmt: skip
    feed_server.add("/feed.xml", rss(items))
    return feed_server.url("/feed.xml")


def hits_out(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert cli(config, "hits", *args) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_hit_row_keeps_the_items_publication_time_as_the_feed_gave_it(
    backend: str,
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    url = serve_old_and_undated(feed_server)
    if backend == "sqlite":
        config = write_config(tmp_path, [url], webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    else:
        monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
        config = pg_config(tmp_path, [url], webhook_receiver)
    assert cli(config, "once") == 0

    # the table itself, as sqlite3 / Datasette / psql read it
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "monitor.db") as db:
            stored = dict(db.execute("SELECT link, published FROM hits").fetchall())
            view = dict(db.execute("SELECT link, published FROM hit_details").fetchall())
        db.close()
        assert view == stored
    else:
        from monitor._storage._postgres import PostgresStorage

        pg = PostgresStorage(request.getfixturevalue("pg_schema_dsn"), readonly=True)
        stored = {r["link"]: r["published"] for r in pg._read("SELECT link, published FROM hits")}
        pg.close()
    assert stored == {"https://e.test/old": OLD_TEXT, "https://e.test/undated": None}

    # `monitor hits`: JSON and CSV fields, and a column of the table
    hits = json.loads(hits_out(config, capsys, "--format", "json"))
    assert {h["link"]: h["published"] for h in hits} == stored
    assert all(h["detected_at"] > OLD_TEXT for h in hits)
    table = hits_out(config, capsys).splitlines()
    assert table[0].split()[:3] == ["id", "detected_at", "published"]
    old_id = next(h["id"] for h in hits if h["published"] == OLD_TEXT)
    [old_row] = [line for line in table if line.startswith(old_id)]
    assert old_row.split()[2] == OLD_TEXT
    assert "published" in hits_out(config, capsys, "--format", "csv").splitlines()[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_hit_of_an_edited_item_keeps_the_date_its_judged_text_came_with(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Frozen at detection, like the hit's title and link: the alert and the reports give the
    date the feed gave with the text that was judged (the item keeps its first one)."""
    if backend == "postgres":
        request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    s = open_backend(backend, tmp_path, request)
    s.sync_feeds([FEED])
    store(s, [NewItem(entry("a", "Before"), (miss(),))])
    edited = dataclasses.replace(entry("a", "After", fp="fp-After"), published=OLD)
    [hid] = store(s, [], edited=[NewItem(edited, (hit(),), story_id="s1")])
    assert [(h["id"], h["published"]) for h in s.hits()] == [(hid, OLD_TEXT)]
    assert [h["published"] for h in s.hit_entries()] == [OLD_TEXT]
    alerts = s.due_deliveries(NOW, CHANNELS, limit=10)
    assert alerts and {d.alert.published for d in alerts} == {OLD}
    items = s._read("SELECT published FROM items")  # type: ignore[attr-defined]
    assert items == [{"published": "2025-03-11T12:00:00.000Z"}]
    s.close()


def make_v10_database(path: Path) -> None:
    """A file as schema 10 left it (every step up to it, as `migrate` ran them), with a feed,
    a dated and an undated item, and a hit of each."""
    db = sqlite3.connect(path, isolation_level=None)
    for step in range(1, 11):
        migration = _MIGRATIONS[step]
        if callable(migration):
            migration(db)
        else:
            for statement in migration.split(";"):
                if statement.strip():
                    db.execute(statement)
    db.execute("PRAGMA user_version = 10")
    db.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')")
    for n, published in ((1, OLD_TEXT), (2, None)):
        db.execute(
            "INSERT INTO items (id, feed_id, key, fingerprint, title, summary, link, published, "
            "first_seen) VALUES (?, 1, ?, ?, 'T', 'S', ?, ?, '2025-03-11T08:00:00.000Z')",
            (n, f"id:{n}", f"fp{n}", f"http://a/{n}", published),
        )
        db.execute(
            "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, story_id, "
            "alerted, title, summary, link) VALUES (?, ?, 't', 0.9, '[]', "
            "'2025-03-11T08:00:00.000Z', ?, 1, 'T', 'S', ?)",
            (f"hit_{n}", n, f"hit_{n}", f"http://a/{n}"),
        )
    db.close()


def test_a_version_10_database_gets_its_hits_publication_times_from_their_items(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    make_v10_database(path)
    with pytest.raises(Exception, match="older than this monitor's"):  # a report never migrates
        Storage(path, readonly=True)
    Storage(path).close()  # the daemon's open migrates
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 12
        rows = db.execute("SELECT id, published FROM hits ORDER BY id").fetchall()
        view = db.execute("SELECT hit_id, published FROM hit_details ORDER BY hit_id").fetchall()
    db.close()
    assert rows == view == [("hit_1", OLD_TEXT), ("hit_2", None)]
    storage = Storage(path, readonly=True)
    assert {h["id"]: h["published"] for h in storage.hits()} == dict(rows)
    storage.close()


def test_a_postgres_schema_8_gets_its_hits_publication_times_from_their_items(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from monitor._storage._pg_schema import SCHEMA_VERSION

    request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    s = open_backend("postgres", tmp_path, request)
    s.sync_feeds([FEED])
    dated, undated = entry("dated"), entry("undated")
    undated = dataclasses.replace(undated, published=None)
    store(s, [NewItem(dated, (hit(),)), NewItem(undated, (hit(),))])
    conn = s.conn  # type: ignore[attr-defined]
    conn.execute("ALTER TABLE hits DROP COLUMN published")  # as schema 8 left it
    conn.execute("UPDATE monitor_schema SET version = 8")
    s.close()
    again = open_backend("postgres", tmp_path, request)
    version = again.conn.execute("SELECT version FROM monitor_schema").fetchone()  # type: ignore[attr-defined]
    assert version == {"version": SCHEMA_VERSION} and SCHEMA_VERSION >= 10
    rows = again._read("SELECT link, published FROM hits")  # type: ignore[attr-defined]
    published = {r["link"]: r["published"] for r in rows}
    assert published == {"http://x/dated": "2025-03-11T12:00:00.000Z", "http://x/undated": None}
    again.close()


def test_migrate_db_copies_the_hits_publication_times(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    from monitor._storage._migrate import migrate_sqlite
    from monitor._storage._postgres import PostgresStorage

    url = serve_old_and_undated(feed_server)
    lite = write_config(tmp_path, [url], webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    assert cli(lite, "once") == 0
    target = PostgresStorage(pg_schema_dsn)
    migrate_sqlite(tmp_path / "monitor.db", target)
    copied = {r["link"]: r["published"] for r in target._read("SELECT link, published FROM hits")}
    target.close()
    assert copied == {"https://e.test/old": OLD_TEXT, "https://e.test/undated": None}
