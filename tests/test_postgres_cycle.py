"""The whole path on PostgreSQL, for real: loopback feeds → `monitor once` → PostgreSQL →
signed webhook, then the CLI's reports read back from PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def pg_config(
    tmp_path: Path,
    urls: list[str],
    webhook: WebhookReceiver | None,
    *,
    monitor: str = "",
    smtp: SmtpServer | None = None,
    extra: str = "",
    threshold: float | None = TOY_THRESHOLD,
) -> Path:
    """A config whose database is the URL in $MONITOR_E2E_DSN (database_env); otherwise
    ``write_config``'s."""
    path = write_config(
        tmp_path,
        urls,
        webhook=webhook,
        smtp=smtp,
        extra=extra,
        threshold=threshold,
        monitor=monitor,
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('database = "monitor.db"', 'database_env = "MONITOR_E2E_DSN"'),
        encoding="utf-8",
    )
    return path


def test_monitor_once_on_postgresql_alerts_each_on_topic_item_once(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver)
    assert cli(config, "once") == 0
    assert not (tmp_path / "monitor.db").exists()  # nothing went to SQLite

    hooks = webhook_receiver.received
    assert {r.json["title"] for r in hooks} == ON_TOPIC
    assert len(hooks) == len(ON_TOPIC)
    assert all(r.signature_ok and r.headers["webhook-id"] == r.json["id"] for r in hooks)

    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    hits = json.loads(capsys.readouterr().out)
    assert {h["title"] for h in hits} == ON_TOPIC
    assert {h["id"] for h in hits} == {r.json["id"] for r in hooks}
    assert cli(config, "atom") == 0  # the Atom feed of hits: the same hits, as judged
    atom = feedparser.parse(capsys.readouterr().out.encode())
    assert not atom.bozo and {e.title for e in atom.entries} == ON_TOPIC

    # a second cycle: conditional requests, nothing alerted twice
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == len(ON_TOPIC)
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    feeds = json.loads(capsys.readouterr().out)
    assert {f["last_status"] for f in feeds} == {"not-modified"}
    assert sum(f["items_seen"] for f in feeds) == len(ITEMS)
    assert cli(config, "deliveries", "--format", "json") == 0
    deliveries = json.loads(capsys.readouterr().out)
    assert {d["status"] for d in deliveries} == {"delivered"}
    assert len(deliveries) == len(ON_TOPIC)

    # feedback and explain read and write the same database
    assert cli(config, "feedback", hits[0]["id"], "--irrelevant") == 0
    capsys.readouterr()
    assert cli(config, "feedback", "--list", "--format", "json") == 0
    [judged] = json.loads(capsys.readouterr().out)
    assert judged["title"] == hits[0]["title"] and judged["relevant"] is False
    assert cli(config, "explain", hits[0]["id"]) == 0
    assert hits[0]["title"] in capsys.readouterr().out

    # a feed paused (here, or on SQLite before `migrate-db`) can be resumed here
    url = next(iter(urls.values()))
    assert cli(config, "feeds", "pause", url) == 0
    before = feed_server.count(urlsplit(url).path)
    assert cli(config, "once") == 0
    assert feed_server.count(urlsplit(url).path) == before
    assert cli(config, "feeds", "resume", url) == 0
    assert cli(config, "once") == 0
    assert feed_server.count(urlsplit(url).path) == before + 1

    # feeds added from the CLI or an OPML file are polled by the workers, and removed again
    feed_server.add("/added.xml", rss([{"title": "Added", "link": "https://e.test/added"}]))
    added = feed_server.url("/added.xml")
    assert cli(config, "feeds", "add", added, "--interval", "2h") == 0
    opml = tmp_path / "in.opml"
    feed_server.add("/opml.xml", rss([{"title": "From OPML", "link": "https://e.test/opml"}]))
    opml.write_text(
        '<opml version="2.0"><body>'
        f'<outline type="rss" text="o" xmlUrl="{feed_server.url("/opml.xml")}"/></body></opml>'
    )
    assert cli(config, "opml", "import", str(opml)) == 0
    assert cli(config, "once") == 0
    assert feed_server.count("/added.xml") == 1 and feed_server.count("/opml.xml") == 1
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    rows = {f["url"]: f for f in json.loads(capsys.readouterr().out)}
    assert rows[added]["interval"] == "2h" and rows[added]["items_seen"] == 1
    assert cli(config, "feeds", "remove", added) == 0
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    assert added not in {f["url"] for f in json.loads(capsys.readouterr().out)}


def test_what_postgresql_lacks_yet_is_a_clear_error(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS[:2])
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver)
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "datasette-metadata") != 0
    err = capsys.readouterr().err
    assert "Datasette metadata is not supported by the PostgreSQL backend yet" in err
    assert "Traceback" not in err
    kept = pg_config(tmp_path, list(urls.values()), webhook_receiver, monitor='keep_items = "30d"')
    assert cli(kept, "once") == 0  # retention runs on PostgreSQL too


def test_classify_on_a_postgresql_config_reads_and_writes_nothing(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`classify` reads the judgements (none yet: no tables) and creates nothing."""
    import json

    import psycopg

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    config = pg_config(tmp_path, [], webhook_receiver)
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"title": "Military chiefs meet in Paris", "summary": ""}) + "\n")
    capsys.readouterr()
    assert cli(config, "classify", str(items)) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    with psycopg.connect(pg_schema_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()
    assert row is not None and row[0] == 0


def test_feeds_before_the_tables_lists_the_configured_feeds(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As on SQLite: `monitor feeds` before any `monitor once` said "no monitor tables yet";
    it lists the configured feeds, never polled, and creates no table."""
    import psycopg

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver)
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["url"] for r in rows} == set(urls.values()), rows
    assert {(r["source"], r["last_status"], r["items_seen"]) for r in rows} == {
        ("config", None, 0)
    }, rows
    with psycopg.connect(pg_schema_dsn) as conn:  # a report: no table made
        assert conn.execute("SELECT to_regclass('monitor_schema')").fetchone() == (None,)


def test_hits_name_a_renamed_feed_as_config_toml_does_now(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As on SQLite: `monitor hits` named a feed renamed in config.toml as the feeds table
    still had it; it names it as the config does now, and writes nothing to say so."""
    import psycopg

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver)
    assert cli(config, "once") == 0
    text = config.read_text(encoding="utf-8")
    for n, url in enumerate(urls.values()):
        text = text.replace(f'url = "{url}"', f'url = "{url}"\nname = "New {n}"')
    config.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {h["feed"] for h in hits} <= {f"New {n}" for n in range(len(urls))}, hits
    with psycopg.connect(pg_schema_dsn) as conn:  # a report: nothing written
        names = {name for (name,) in conn.execute("SELECT name FROM feeds")}
    assert not any(name.startswith("New ") for name in names), names
