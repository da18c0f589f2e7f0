"""Full-text search (FTS5 kept in sync by triggers), `monitor search` and the hit_details view,
on real SQLite files filled by a real cycle against loopback feeds."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from monitor._storage import Storage
from monitor._storage._schema import SCHEMA_VERSION, migrate
from monitor._storage._schema_v4 import apply_v4
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, make_v1_database, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def search(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    capsys.readouterr()
    assert cli(config, "search", *args, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def filled(tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver) -> Path:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()), webhook=webhook_receiver)
    assert cli(config, "once") == 0
    return config


@pytest.fixture(params=["sqlite", "postgres"])
def searched(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A config whose database a cycle filled: SQLite (FTS5) or PostgreSQL (text search)."""
    if request.param == "sqlite":
        config: Path = request.getfixturevalue("filled")
        return config
    from tests.test_postgres_cycle import pg_config

    monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
    urls = serve_items(feed_server, ITEMS)
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver)
    assert cli(config, "once") == 0
    return config


def test_search_items_and_hits(searched: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled = searched
    titles = {r["title"] for r in search(filled, capsys, "paris")}
    assert "Paris fashion week closes with a show at the Louvre" in titles
    assert (
        "Military chiefs from 30 countries meet in Paris to plan Ukraine security force" in titles
    )
    hits = search(filled, capsys, "paris", "--hits-only")
    assert {r["title"] for r in hits} <= ON_TOPIC and hits
    assert all(r["hits"] and r["hits"][0].startswith("hit_") for r in hits)
    # stemmed: the query's singular finds the plural, and a phrase query works
    assert any("peacekeepers" in r["title"] for r in search(filled, capsys, "peacekeeper"))
    phrase = search(filled, capsys, '"coalition of the willing"')
    with_phrase = {t for t in ON_TOPIC if "coalition of the willing" in t}
    assert with_phrase <= {r["title"] for r in phrase}
    assert search(filled, capsys, '"willing coalition"') == []  # a phrase, not two words
    capsys.readouterr()  # a topic neither configured nor stored is a typo: said, not "(none)"
    assert cli(filled, "search", "paris", "--topic", "no-such-topic") == 1
    assert "no topic 'no-such-topic'" in capsys.readouterr().err
    capsys.readouterr()
    assert cli(filled, "search", "ukraine", "--limit", "2", "--format", "json") == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 2 and "showing the first 2 items; more match (--limit N)" in err
    assert cli(filled, "hits", "--limit", "1", "--format", "csv") == 0  # a cut export says so
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and "showing the first 1 hits; more match" in err
    assert cli(filled, "hits", "--limit", str(len(ON_TOPIC))) == 0  # all of them: no note
    assert "more match" not in capsys.readouterr().err
    capsys.readouterr()
    assert cli(filled, "search", "earthquake", "--format", "csv") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("item_id,") and len(out) == 2 and "Japan" in out[1]


def test_bad_query_is_a_clear_error(searched: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for query in ('unbalanced "quote', "(open", "NOT", "a OR", "a )", "   "):
        capsys.readouterr()
        assert cli(searched, "search", query) == 1, query
        err = capsys.readouterr().err
        assert "not a valid full-text query" in err and "Traceback" not in err


def test_search_syntax_prefixes_columns_and_operators(
    searched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def titles(query: str) -> set[str]:
        return {r["title"] for r in search(searched, capsys, query, "--limit", "500")}

    paris, ukraine = titles("paris"), titles("ukraine")
    assert paris and ukraine and paris != ukraine
    assert titles("paris AND ukraine") == titles("paris ukraine") == paris & ukraine
    assert titles("paris OR ukraine") == paris | ukraine
    assert titles("paris NOT ukraine") == paris - ukraine
    assert titles("(paris OR ukraine) NOT military") == (paris | ukraine) - titles("military")
    assert titles("ukrain*") >= ukraine  # a prefix
    in_title = titles("title:paris")
    assert in_title and all("paris" in t.lower() for t in in_title) and in_title <= paris
    assert titles("zzzqqq") == set()
    # what users type: hyphens, apostrophes, punctuation, a time — words, not syntax
    assert titles("tsunami-warning") == titles('"tsunami warning"') != set()
    assert titles("Japan's") == titles("japan")
    assert titles("quake?") == titles("quake") != set()
    assert titles("Japan, Pacific") == titles("japan pacific") != set()
    assert titles("10:30") == set()
    [row] = search(searched, capsys, "tsunami")  # the summary's words around the match
    assert "[tsunami]" in row["snippet"].lower() and "warning" in row["snippet"]


def test_hit_details_view_needs_no_joins(filled: Path) -> None:
    db = sqlite3.connect(filled.parent / "monitor.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM hit_details").fetchall()
    assert {r["title"] for r in rows} == ON_TOPIC
    for row in rows:
        assert row["hit_id"].startswith("hit_") and row["feed"].startswith("127.0.0.1:")
        assert row["feed_url"].endswith(row["feed"].split("/", 1)[1])
        assert row["link"].startswith("https://") and 0 < row["score"] <= 1
        assert row["delivery_status"] == "delivered"
        assert row["deliveries"] == "webhook:delivered"
        assert row["topic"] == "paris-coalition" and row["story_id"]


def test_hit_details_and_atom_show_what_was_judged_after_the_feed_edits_the_item(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: a hit keeps what was judged, frozen at detection. `monitor hits` and the
    alerts did; the view (Datasette, the README's queries) and the Atom feed showed the
    item's edited text, so the same hit read differently depending on where one looked."""
    path = filled.parent / "monitor.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE items SET title = 'EDITED ' || title, link = link || '?edited', "
            "summary = 'edited' WHERE id IN (SELECT item_id FROM hits)"
        )
    db.close()
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT title, link, summary FROM hit_details").fetchall()
    db.close()
    assert {r["title"] for r in rows} == ON_TOPIC
    assert not any(r["link"].endswith("?edited") or r["summary"] == "edited" for r in rows)
    capsys.readouterr()
    assert cli(filled, "atom") == 0
    atom = capsys.readouterr().out
    assert "EDITED" not in atom and "?edited" not in atom
    # the same hits in the same order as `monitor hits` (one poll's hits share a detection time)
    assert cli(filled, "hits", "--format", "json") == 0
    listed = [r["link"] for r in json.loads(capsys.readouterr().out)]
    assert cli(filled, "atom") == 0
    links = re.findall(r'rel="alternate" href="([^"]+)"', capsys.readouterr().out)
    assert [link.replace("&amp;", "&") for link in links] == listed


def test_index_follows_inserts_edits_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Storage(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')")
    db.execute(
        "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, first_seen) "
        "VALUES (1, 'k', 'f', 'Zebras graze', 'On the savanna', 'http://a/1', 'x')"
    )
    db.commit()

    def found(word: str) -> int:
        sql = "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?"
        return int(db.execute(sql, (word,)).fetchone()[0])

    assert found("zebra") == 1 and found("savanna") == 1
    db.execute("UPDATE items SET title = 'Giraffes browse' WHERE key = 'k'")
    assert found("zebra") == 0 and found("giraffe") == 1 and found("savanna") == 1
    db.execute("UPDATE items SET duplicate_of = NULL")  # not title/summary: index untouched
    assert found("giraffe") == 1
    db.execute("DELETE FROM items")
    assert found("giraffe") == 0 and found("savanna") == 0
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")  # raises if off


def test_migration_indexes_existing_items_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v1_database(path)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')"
        )
        db.execute(
            "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, first_seen) "
            "VALUES (1, 'k', 'f', 'Ceasefire talks in Paris', 'Chiefs meet', 'http://a/1', 'x')"
        )
    db.close()
    storage = Storage(path)  # migrates 1 → 4 → 5
    assert [r["title"] for r in storage.search("talk")] == ["Ceasefire talks in Paris"]
    storage.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 12
    columns = {r[1] for r in db.execute("PRAGMA table_info(feeds)")}
    assert {"source", "paused", "interval", "category", "html_url", "added_at"} <= columns
    assert "next_poll" in columns  # version 5: adaptive polling
    assert db.execute("SELECT source, paused FROM feeds").fetchone() == ("config", 0)
    apply_v4(db)  # again: nothing fails, nothing doubles
    db.execute("PRAGMA user_version = 3")
    migrate(db)
    assert (
        db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'paris'").fetchone()[0]
        == 1
    )
    db.close()
    # sqlite-utils (and so Datasette) finds the index
    assert sqlite_utils.Database(path)["items"].detect_fts() == "items_fts"
