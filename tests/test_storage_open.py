"""Opening a database file an operator brought: an old schema's upgrade (said in the log),
a backup restored world-readable (made private, said in the log)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from monitor._storage import Storage
from monitor._storage._schema import _V2, SCHEMA_VERSION
from tests.helpers import make_v1_database, write_config

# Schema 3 as the release of 2026-11-29 16:18 left it (dfdb0d5): the hits' frozen text only;
# ``deliveries.recipients`` joined version 3 half an hour later (699cb86), with no new number.
_V3_FIRST = """
ALTER TABLE hits ADD COLUMN title TEXT;
ALTER TABLE hits ADD COLUMN summary TEXT;
ALTER TABLE hits ADD COLUMN link TEXT
"""


def make_v3_database_without_recipients(path: Path) -> None:
    """A version 3 file of that first release, with a feed, an item, its hit and a pending
    email delivery (delivery number 7)."""
    make_v1_database(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(_V2 + ";" + _V3_FIRST)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')")
    db.execute(
        "INSERT INTO items (id, feed_id, key, fingerprint, title, summary, link, first_seen) "
        "VALUES (1, 1, 'id:1', 'fp', 'T', 'S', 'http://a/1', '2026-11-29T16:30:00.000Z')"
    )
    db.execute(
        "INSERT INTO hits (id, item_id, topic, score, matched, detected_at, story_id, alerted, "
        "title, summary, link) VALUES ('hit_1', 1, 't', 0.9, '[]', "
        "'2026-11-29T16:30:00.000Z', 'hit_1', 1, 'T', 'S', 'http://a/1')"
    )
    db.execute(
        "INSERT INTO deliveries (id, hit_id, channel, status, attempts, next_attempt) "
        "VALUES (7, 'hit_1', 'email', 'pending', 1, '2026-11-29T16:35:00.000Z')"
    )
    db.close()


def test_a_schema_3_file_without_recipients_is_upgraded_with_its_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Version 10's rebuild of ``deliveries`` copied ``recipients``, which that first
    version 3 never had: "no such column: recipients", and the daemon could not start."""
    path = tmp_path / "old.db"
    make_v3_database_without_recipients(path)
    with caplog.at_level(logging.INFO, logger="monitor"):
        Storage(path).close()
    upgraded = [r.getMessage() for r in caplog.records if "upgraded" in r.getMessage()]
    assert upgraded == [f"database {path} upgraded from schema 3 to {SCHEMA_VERSION}"]
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = [row[1] for row in db.execute("PRAGMA table_info(deliveries)")]
        assert "recipients" in columns and "digest" in columns
        rows = db.execute(
            "SELECT id, hit_id, channel, status, attempts, recipients FROM deliveries"
        ).fetchall()
        assert rows == [(7, "hit_1", "email", "pending", 1, None)]
        assert db.execute("SELECT hit_id, title, deliveries FROM hit_details").fetchall() == [
            ("hit_1", "T", "email:pending")
        ]
    finally:
        db.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="monitor"):
        Storage(path).close()  # already current: nothing more to say
    assert not [r for r in caplog.records if "upgraded" in r.getMessage()]


def test_the_upgrade_is_logged_by_the_command_that_does_it(tmp_path: Path) -> None:
    """`monitor once` on an old file: one INFO line in its log naming the file and both
    versions (an upgrade said nothing: the operator could not tell it from a normal start)."""
    config = write_config(tmp_path, [])
    make_v1_database(tmp_path / "monitor.db")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "upgraded from schema" in line]
    assert len(lines) == 1, proc.stderr
    assert " INFO " in lines[0]
    assert (
        f"database {tmp_path / 'monitor.db'} upgraded from schema 1 to {SCHEMA_VERSION}"
        in (lines[0])
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_world_readable_database_and_its_log_files_are_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup restored with mode 0644 (cp, tar, rsync under a umask of 022) stayed readable
    by every local user, and its -wal and -shm files with it: alert recipients, webhook
    URLs, feed URLs with their tokens."""
    path = tmp_path / "monitor.db"
    Storage(path).close()
    holder = sqlite3.connect(path)  # keeps -wal and -shm beside the file, as a copy may
    holder.execute("INSERT INTO channels (name, target) VALUES ('webhook', 'https://h/')")
    holder.commit()
    files = [path, tmp_path / "monitor.db-wal", tmp_path / "monitor.db-shm"]
    try:
        for file in files:
            file.chmod(0o644)
        with caplog.at_level(logging.WARNING, logger="monitor"):
            Storage(path).close()
        assert {file.name: _mode(file) for file in files} == {file.name: 0o600 for file in files}
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, caplog.text
        message = warnings[0].getMessage()
        assert str(path) in message and "0644" in message and "0600" in message
        caplog.clear()
        path.chmod(0o640)  # group-readable is not private either
        for readonly in (True, False):  # the reports' open too (nothing else is written)
            with caplog.at_level(logging.WARNING, logger="monitor"):
                Storage(path, readonly=readonly).close()
            assert _mode(path) == 0o600
            path.chmod(0o640)
        assert caplog.text.count("0640") == 2
        caplog.clear()
        path.chmod(0o600)
        with caplog.at_level(logging.WARNING, logger="monitor"):
            Storage(path).close()  # private already: nothing said
        assert caplog.records == []
    finally:
        holder.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="another owner's file needs root to make")
def test_a_database_of_another_owner_is_left_as_it_is(tmp_path: Path) -> None:
    """Its mode is its owner's business (a group that reads the monitor's database, run by
    someone else): only the files this process owns are changed."""
    path = tmp_path / "monitor.db"
    Storage(path).close()
    path.chmod(0o644)
    os.chown(path, 65534, 65534)
    Storage(path, readonly=True).close()
    assert _mode(path) == 0o644


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare -m"
)
def test_a_mode_that_cannot_be_changed_is_warned_of_and_the_database_is_read(
    tmp_path: Path,
) -> None:
    """chmod refused (a read-only mount, here bound in a private mount namespace): warned
    of, naming the file and its mode, and the database is used anyway."""
    config = write_config(tmp_path, [])
    path = tmp_path / "monitor.db"
    Storage(path).close()
    path.chmod(0o644)
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(tmp_path),
         sys.executable, "-m", "monitor", "--config", str(config), "feeds", "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    warnings = [line for line in proc.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, proc.stderr
    assert str(path) in warnings[0] and "0644" in warnings[0], warnings
    assert _mode(path) == 0o644
