"""Commands that send nothing work without the alert secrets in the environment; the ones
that send (`once`, `run`) still refuse, naming the key and the variable."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config


def test_read_only_commands_need_no_secrets(
    tmp_path: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MONITOR_TEST_HOOK_SECRET", "MONITOR_TEST_SMTP", "MONITOR_TEST_APPRISE"):
        monkeypatch.delenv(name, raising=False)
    feed_server.add("/f.xml", rss([{"title": "Hello", "link": "https://e/1"}]))
    config = write_config(
        tmp_path,
        [feed_server.url("/f.xml")],
        extra=(
            '[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n'
            'secret_env = "MONITOR_TEST_HOOK_SECRET"\n'
            '[alerts.email]\nhost = "127.0.0.1"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\n'
            'username = "u"\npassword_env = "MONITOR_TEST_SMTP"\n'
            '[alerts.apprise]\nurls_env = "MONITOR_TEST_APPRISE"'
        ),
    )
    capsys.readouterr()
    assert cli(config, "once") == 2
    err = capsys.readouterr().err
    assert "alerts.webhook.secret_env" in err and "MONITOR_TEST_HOOK_SECRET is not set" in err
    assert not (tmp_path / "monitor.db").exists()

    assert cli(config, "feeds", "add", feed_server.url("/g.xml")) == 0  # creates the database
    with_alerts = config.read_text(encoding="utf-8")
    write_config(tmp_path, [feed_server.url("/f.xml")])  # the same database, no alerts
    assert cli(config, "once") == 0  # stores item 1, for `explain`
    config.write_text(with_alerts, encoding="utf-8")
    for command in (
        ["explain", "1"],
        ["topic", "check", "paris-coalition"],
        ["hits"],
        ["feeds"],
        ["deliveries"],
        ["search", "hello"],
        ["atom"],
        ["opml", "export"],
        ["feedback", "--list"],
        ["datasette-metadata"],
    ):
        capsys.readouterr()
        assert cli(config, *command) == 0, (command, capsys.readouterr().err)


def _without_write_access() -> list[str]:
    """A prefix that runs a command without the power to ignore file permissions (root has
    it: ``setpriv`` drops it); [] when the tests already run without it."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is not installed: permissions cannot bite")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_reports_read_a_copy_in_a_read_only_directory(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A backup copied to a read-only place (no -wal/-shm beside it, none can be made): every
    report failed with "attempt to write a readonly database"."""
    feed_server.add("/f.xml", rss([{"title": "Hello", "link": "https://e/1"}]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")])
    assert cli(config, "once") == 0
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    with (
        sqlite3.connect(tmp_path / "monitor.db") as source,
        sqlite3.connect(shelf / "monitor.db") as copy,
    ):
        source.backup(copy)
    source.close()
    copy.close()
    shutil.copy(config, shelf / "config.toml")
    (shelf / "monitor.db").chmod(0o444)
    shelf.chmod(0o555)
    try:
        for command in (["hits", "--format", "json"], ["feeds"], ["explain", "1"]):
            proc = subprocess.run(
                [*_without_write_access(), sys.executable, "-m", "monitor",
                 "--config", str(shelf / "config.toml"), *command],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert proc.returncode == 0, (command, proc.stderr)
        assert sorted(p.name for p in shelf.iterdir()) == ["config.toml", "monitor.db"]
    finally:
        shelf.chmod(0o755)
    # copied with its write-ahead log (not empty): said so, with what to do
    writer = sqlite3.connect(tmp_path / "monitor.db")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    with writer:
        writer.execute("UPDATE feeds SET name = 'renamed'")
    (shelf / "monitor.db").chmod(0o644)
    shutil.copy(tmp_path / "monitor.db", shelf / "monitor.db")
    shutil.copy(tmp_path / "monitor.db-wal", shelf / "monitor.db-wal")
    writer.close()
    shelf.chmod(0o555)
    try:
        proc = subprocess.run(
            [*_without_write_access(), sys.executable, "-m", "monitor",
             "--config", str(shelf / "config.toml"), "feeds"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        shelf.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    assert "monitor.db-wal" in proc.stderr and "sqlite3" in proc.stderr, proc.stderr
