"""A PostgreSQL worker started with an outdated config (lacking a feed the others list) must
not take that feed from the fleet: while a live worker runs another config it leaves the feed
alone and says so; a feed a worker did remove is shown in `monitor feeds` as removed by it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import cli
from tests.receivers import WebhookReceiver
from tests.test_pg_workers import start_worker, stop_workers, wait_until
from tests.test_postgres_cycle import pg_config


def configs(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> tuple[Path, Path]:
    """The fleet's config (feeds a and b) and an outdated one (a only)."""
    for path in ("/a.xml", "/b.xml"):
        feed_server.add(path, rss([{"title": "Quiet", "link": f"https://e.test{path}"}]))
    out = []
    for name, paths in (("full", ["/a.xml", "/b.xml"]), ("old", ["/a.xml"])):
        (tmp_path / name).mkdir()
        urls = [feed_server.url(p) for p in paths]
        out.append(pg_config(tmp_path / name, urls, webhook_receiver))
    return out[0], out[1]


def sources(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT url, source FROM feeds").fetchall()
    return {str(url).rsplit("/", 1)[1]: str(source) for url, source in rows}


def live_workers(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('workers')").fetchone() == (None,):
            return 0
        row = conn.execute("SELECT count(*) FROM workers").fetchone()
        return int(row[0]) if row else 0


def test_an_outdated_worker_leaves_the_feeds_others_list(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    full, old = configs(tmp_path, feed_server, webhook_receiver)
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    logs = [tmp_path / "full.log", tmp_path / "old.log"]
    workers = [start_worker(full, logs[0], env)]
    try:
        wait_until("the first worker checks in", lambda: live_workers(pg_schema_dsn) == 1, 30)
        workers.append(start_worker(old, logs[1], env))
        wait_until("the outdated worker checks in", lambda: live_workers(pg_schema_dsn) == 2, 30)
        wait_until("it warns", lambda: "not marked removed" in logs[1].read_text(), 15)
        assert sources(pg_schema_dsn) == {"a.xml": "config", "b.xml": "config"}
    finally:
        stop_workers(workers)
    text = logs[1].read_text()
    warning = next(line for line in text.splitlines() if "not marked removed" in line)
    assert "WARNING" in warning and "b.xml" in warning and "a.xml" not in warning


def test_a_feed_a_worker_removed_is_shown_as_removed_by_it(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Alone, the worker's config is the fleet's: the feed is removed. A `monitor feeds` run
    with a config that still lists it does not call it ok: it names the worker."""
    full, old = configs(tmp_path, feed_server, webhook_receiver)
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    assert cli(full, "once") == 0
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    log = tmp_path / "old.log"
    workers = [start_worker(old, log, env)]
    try:
        wait_until("the worker checks in", lambda: live_workers(pg_schema_dsn) == 1, 30)
        assert sources(pg_schema_dsn) == {"a.xml": "config", "b.xml": "removed"}
        with psycopg.connect(pg_schema_dsn) as conn:
            row = conn.execute("SELECT owner FROM workers").fetchone()
        assert row is not None
        owner = str(row[0])
    finally:
        stop_workers(workers)
    capsys.readouterr()
    assert cli(full, "feeds", "--format", "json") == 0
    rows = {row["url"].rsplit("/", 1)[1]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["a.xml"]["health"] == "ok"
    assert rows["b.xml"]["health"] == f"not polled: removed by worker {owner} (not in its config)"
    assert f"feed url={feed_server.url('/b.xml')!r}" in log.read_text()  # the removal is logged
