"""The lock and the database are not trusted by path (issue 11): deleting the lock file lets
no second monitor run, a deleted or replaced database file stops the daemon with an error,
and read-only commands open the database read-only and never migrate it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, make_v1_database, serve_items, write_config

ITEMS = load_items(DATA / "clear_items.jsonl")


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_polled(feed_server: FeedServer, urls: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    paths = ["/" + u.rsplit("/", 1)[1] for u in urls.values()]
    while time.monotonic() < deadline and any(feed_server.count(p) == 0 for p in paths):
        time.sleep(0.1)


def test_deleting_the_lock_file_lets_no_second_monitor_run(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    proc = _start(config)
    try:
        _wait_polled(feed_server, urls)
        for leftover in tmp_path.glob("monitor.db.lock"):
            leftover.unlink()
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "once"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert second.returncode == 1, second.stderr
    assert "already running" in second.stderr


def test_a_deleted_database_file_stops_the_daemon_with_an_error(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    proc = _start(config)
    try:
        _wait_polled(feed_server, urls)
        time.sleep(0.5)
        os.unlink(tmp_path / "monitor.db")
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        raise AssertionError("the daemon ran on with its database file deleted") from None
    assert proc.returncode == 1, err
    assert "deleted or replaced" in err and "Traceback" not in err


def test_read_only_commands_never_migrate(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, [feed_server.url("/f.xml")])
    db = tmp_path / "monitor.db"
    make_v1_database(db)
    reports = (
        ["hits"], ["feeds"], ["deliveries"], ["feedback", "--list"], ["search", "x"],
        ["explain", "1"], ["topic", "check", "paris-coalition"], ["opml", "export"],
    )  # fmt: skip
    for command in reports:
        code = cli(config, *command)
        assert code == 1, command
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 1, command
        conn.close()
