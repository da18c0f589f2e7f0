"""Faults around the monitor (issue 4, scenarios 11 and 12, secrets, file modes).

* The database locked by another process mid-cycle, and a full database: the cycle fails
  cleanly, nothing is marked seen that was not stored, the next cycle catches up.
* Corrupt or unreadable config and database: one line naming the file, non-zero exit, no
  traceback.
* Secrets never appear in logs or CLI output, even in a run full of failures.
* The database (and its WAL, shared-memory and lock files) is private: mode 0600.

The disk-full case uses SQLite's ``PRAGMA max_page_count`` on the monitor's own connection: it
makes SQLite fail with the very error a full disk gives (SQLITE_FULL, "database or disk is
full") at a chosen size, without root (a small tmpfs needs mount rights) and without filling a
real disk. The rest of the cycle is the real one (`open_runtime`, the poller, the deliverer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor._config import load_config
from monitor._daemon import _poll_safely
from monitor._errors import StorageError
from monitor._runtime import open_runtime
from tests.feedserver import FeedServer, rss
from tests.helpers import (
    DATA,
    TOY_THRESHOLD,
    cli,
    load_items,
    serve_items,
    sqlite_write_lock,
    start_daemon,
    stop_daemon,
    wait_for_log,
    write_config,
)
from tests.receivers import SmtpServer, WebhookReceiver
from tests.test_feeds_cli import wait_for

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def monitor(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- scenario 11: locked, full ---------------------------------------------------------------


def test_database_locked_by_another_process_mid_cycle(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    urls = serve_items(feed_server, [i for i in ITEMS if i["feed"] != "europe"])
    # One feed answers after 1 s: the lock is taken while that poll is on the network.
    slow_items = [i for i in ITEMS if i["feed"] == "europe"]
    feed_server.add_behaviour("/slow", "hold", body=rss(_entries(slow_items)), delay=1.0)
    config = write_config(
        tmp_path,
        [feed_server.url("/slow"), *urls.values()],
        webhook=webhook_receiver,
        threshold=TOY_THRESHOLD,
    )
    db = tmp_path / "monitor.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while feed_server.count("/slow") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed_server.count("/slow") == 1
        # Another process takes the write lock for longer than the monitor's 5 s busy timeout.
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(db), "7"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        _, stderr = proc.communicate(timeout=60)
        holder.wait(timeout=30)
    finally:
        proc.kill()
    assert "Traceback" not in stderr
    # The write that met the lock waited the busy timeout (5 s), then that poll failed; which
    # poll it was depends on timing. Each failed poll stored nothing and marked nothing seen.
    failed = re.findall(r"poll feed='([^']+)' not stored: .*locked by another process", stderr)
    assert failed, stderr[-3000:]
    for name in failed:
        ((status, body_hash, items_seen),) = rows(
            db, f"SELECT last_status, body_hash, items_seen FROM feeds WHERE name = '{name}'"
        )
        assert status != "ok" and body_hash is None and items_seen == 0, name
        assert rows(db, "SELECT count(*) FROM items i JOIN feeds f ON f.id = i.feed_id "
                    f"WHERE f.name = '{name}'") == [(0,)]  # fmt: skip

    # The next cycle catches up: every feed's items are stored, every story alerts once.
    assert cli(config, "once") == 0
    assert {r[0] for r in rows(db, "SELECT last_status FROM feeds")} <= {"ok", "not-modified"}
    slow_url = feed_server.url("/slow")
    ((items_seen,),) = rows(db, f"SELECT items_seen FROM feeds WHERE url = '{slow_url}'")
    assert items_seen == len(slow_items)
    titles = [r.json["title"] for r in webhook_receiver.received]
    assert set(titles) == ON_TOPIC and len(titles) == len(ON_TOPIC)
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_sighup_that_meets_the_database_locked_is_not_lost(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """SIGHUP while another process held the database's write lock: the reload's write (the
    config's feed list into the database) failed after the busy timeout, was logged as
    "reload_config: … locked" and dropped, so the feed the config now listed was never polled
    (not once in 20 s after the lock went): the daemon ran on the old list until another
    SIGHUP. Now a reload that meets a database error is tried again until it is done."""
    for name in ("a", "b"):
        feed_server.add(
            f"/{name}.xml", rss([{"title": f"{name} item", "link": f"https://e/{name}"}])
        )
    a, b = feed_server.url("/a.xml"), feed_server.url("/b.xml")

    def listing(*urls: str) -> Path:
        feeds = "".join(f'[[feeds]]\nurl = "{url}"\ninterval = "1s"\n' for url in urls)
        return write_config(tmp_path, [], extra=feeds)

    log = tmp_path / "daemon.log"
    proc = start_daemon(listing(a), log=log)
    try:
        assert wait_for(lambda: feed_server.count("/a.xml") >= 2, 30), "a: not polled"
        with sqlite_write_lock(tmp_path / "monitor.db"):
            listing(a, b)
            proc.send_signal(signal.SIGHUP)
            assert wait_for_log(log, "reload", 30), "the reload did not meet the lock"
        assert wait_for(lambda: feed_server.count("/b.xml") >= 1, 30), "b: the SIGHUP was lost"
    finally:
        err = stop_daemon(proc, log=log)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "SIGHUP reload paused" in err and "SIGHUP reload resumed" in err, err
    assert "SIGHUP: reloaded" in err, err


def test_an_alert_sent_while_the_database_stays_locked_is_recorded_not_sent_again(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """Alerts went out, then another process held the write lock for 40 s (a VACUUM, a
    backup's long transaction): the record of each send was tried for 30 s, then given up,
    and the next round sent the same alerts again. A sent alert's record now waits for the
    database as long as it takes (the outage is logged), and nothing goes out twice."""
    urls = serve_items(feed_server, [i for i in ITEMS if i["feed"] == "europe"])
    path = write_config(
        tmp_path, [*urls.values()], webhook=webhook_receiver, threshold=TOY_THRESHOLD
    )
    config = load_config(path)
    db = tmp_path / "monitor.db"

    def hold_the_lock_once_an_alert_is_sent() -> None:
        webhook_receiver.wait_for(1, timeout=30)
        with sqlite_write_lock(db):
            time.sleep(40)

    async def cycle() -> None:
        async with open_runtime(config) as rt:
            for feed in config.feeds:
                await _poll_safely(rt, feed)
            webhook_receiver.delay = 1.0  # the lock is taken while the first send waits
            holder = threading.Thread(target=hold_the_lock_once_an_alert_is_sent)
            holder.start()
            try:
                with contextlib.suppress(StorageError):  # how the give-up showed
                    await rt.deliverer.deliver_due()
            finally:
                holder.join()
            webhook_receiver.delay = 0.0
            await rt.deliverer.deliver_due()  # the lock is gone: what is still due goes

    asyncio.run(cycle())
    titles = [r.json["title"] for r in webhook_receiver.received]
    assert titles and len(titles) == len(set(titles)), sorted(titles)
    assert rows(db, "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL") == [(0,)]


_HOLD_LOCK = (
    "import sqlite3, sys, time\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "conn.execute('ROLLBACK')\n"
)


def _entries(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        {"title": i["title"], "summary": i["summary"], "link": f"https://slow.example/{n}"}
        for n, i in enumerate(items)
    ]


def test_full_database_fails_the_poll_cleanly_and_the_next_cycle_catches_up(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    small = [i for i in ITEMS if i["feed"] == "world"]
    feed_server.add("/small", rss(_entries(small)))
    # A feed whose items need far more pages than the database may still grow by.
    big = [
        {"title": f"Item {n}", "summary": f"word{n} " * 800, "link": f"https://big.example/{n}"}
        for n in range(200)
    ]
    feed_server.add("/big", rss(big))
    feed_server.add("/big-on-topic", rss(_entries([i for i in ITEMS if i["feed"] == "europe"])))
    urls = [feed_server.url(p) for p in ("/small", "/big", "/big-on-topic")]
    config_path = write_config(tmp_path, urls, webhook=webhook_receiver)
    config = load_config(config_path)
    db = tmp_path / "monitor.db"

    async def full_cycle() -> list[str]:
        async with open_runtime(config) as rt:
            pages = rt.storage.conn.execute("PRAGMA page_count").fetchone()[0]
            # Room for a few small writes, not for the big feed's ~1 MB of items.
            rt.storage.conn.execute(f"PRAGMA max_page_count = {pages + 40}")
            reports = [await _poll_safely(rt, feed) for feed in config.feeds]
            await rt.deliverer.deliver_due()
        return [f"{r.feed}:{r.status}:{r.error or ''}" for r in reports]

    reports = asyncio.run(full_cycle())
    big_url = feed_server.url("/big")
    # its own outcome (`monitor_polls_total{status="not-stored"}`): the feed answered, the
    # database did not take it, and `monitor feeds` (read from that database) cannot say so
    assert any("/big:not-stored:" in r and "disk is full" in r for r in reports), reports
    ((status, body_hash, etag),) = rows(
        db, f"SELECT last_status, body_hash, etag FROM feeds WHERE url = '{big_url}'"
    )
    assert status != "ok" and body_hash is None and etag is None  # nothing marked seen
    assert rows(db, "SELECT count(*) FROM items WHERE link LIKE 'https://big.example/%'") == [(0,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]

    # The disk has room again: a plain `monitor once` stores everything and alerts.
    assert cli(config_path, "once") == 0
    assert rows(db, "SELECT count(*) FROM items WHERE link LIKE 'https://big.example/%'") == [
        (200,)
    ]
    titles = [r.json["title"] for r in webhook_receiver.received]
    # (a feed of 200 odd items shifts what the trackers learn: more may hit, none is lost)
    assert set(titles) >= ON_TOPIC and len(titles) == len(set(titles))


# -- scenario 12: corrupt or unreadable config and database --------------------------------


@pytest.fixture
def valid_config(tmp_path: Path, feed_server: FeedServer) -> Path:
    feed_server.add("/f.xml", rss(_entries(ITEMS[:2])))
    return write_config(tmp_path, [feed_server.url("/f.xml")])


def _one_line_error(proc: subprocess.CompletedProcess[str], names: str, says: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert names in lines[0] and says in lines[0], lines[0]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"[monitor\ndatabase = 'x'\n", "not valid TOML"),
        (b"\xff\xfe\x00garbage", "cannot read config"),
        (b"[monitor]\ninterval = 'often'\n", "monitor.interval: expected a duration"),
    ],
    ids=["toml", "binary", "invalid"],
)
def test_corrupt_config_is_one_line(tmp_path: Path, content: bytes, says: str) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(content)
    for command in ("once", "run", "hits"):
        _one_line_error(monitor(config, command), str(config), says)


def test_missing_and_unreadable_config_is_one_line(tmp_path: Path) -> None:
    _one_line_error(monitor(tmp_path / "nope.toml", "once"), "nope.toml", "no such config file")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    _one_line_error(monitor(folder, "once"), "folder.toml", "cannot read config")


def test_corrupt_database_is_one_line(tmp_path: Path, valid_config: Path) -> None:
    db = tmp_path / "monitor.db"
    db.write_bytes(b"not a database, just text " * 400)
    db.chmod(0o600)  # private, as monitor makes it: a readable one is warned of first
    for command in ("once", "hits", "feeds", "deliveries"):
        _one_line_error(monitor(valid_config, command), str(db), "not a SQLite database")


def test_damaged_database_pages_are_one_line(tmp_path: Path, valid_config: Path) -> None:
    assert cli(valid_config, "once") == 0
    db = tmp_path / "monitor.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[page : len(data)] = b"\x5a" * (len(data) - page)  # every page after the header page
    db.write_bytes(bytes(data))
    for command in ("once", "hits", "feeds"):
        proc = monitor(valid_config, command)
        _one_line_error(proc, str(db), "")
        assert "malformed" in proc.stderr or "not a SQLite database" in proc.stderr


def test_database_path_unusable_is_one_line(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/f.xml", rss(_entries(ITEMS[:1])))
    (tmp_path / "db-folder").mkdir()
    config = write_config(tmp_path, [feed_server.url("/f.xml")])
    config.write_text(config.read_text().replace('"monitor.db"', '"db-folder"'))
    proc = monitor(config, "once")  # a config error (was exit 1, "Is a directory")
    _one_line_error(proc, "monitor.database: ", "db-folder is a folder; expected a file path")
    assert proc.returncode == 2


# -- secrets and file modes ----------------------------------------------------------------

WEBHOOK_SECRET = "whsec_c2VjcmV0LXdlYmhvb2sta2V5LTEyMzQ1Njc4OTA="  # base64 of a test key
SMTP_PASSWORD = "smtp-pass-Zq8#unlikely"


def _reject_login(*args: object) -> AuthResult:
    auth = args[-1]
    assert isinstance(auth, LoginPassword)
    return AuthResult(success=False, handled=False)


@pytest.fixture
def auth_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(authenticator=_reject_login, auth_require_tls=False)
    try:
        yield server
    finally:
        server.close()


def test_secrets_never_in_logs_errors_or_output(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    auth_smtp: SmtpServer,
) -> None:
    urls = serve_items(feed_server, ITEMS)
    feed_server.add_behaviour("/500", "status", status=500)
    secret_file = tmp_path / "smtp.password"
    secret_file.write_text(SMTP_PASSWORD)
    config = write_config(tmp_path, [feed_server.url("/500"), *urls.values()])
    config.write_text(
        config.read_text()
        + "[alerts]\nretry_schedule = ['0s']\n"
        + f"[alerts.webhook]\nurl = '{webhook_receiver.url}'\nsecret = '{WEBHOOK_SECRET}'\n"
        + f"[alerts.email]\nhost = '127.0.0.1'\nport = {auth_smtp.port}\ntls = 'none'\n"
        + "sender = 'm@example.org'\nrecipients = ['d@example.org']\nusername = 'alice'\n"
        + "password_file = 'smtp.password'\n"
    )
    webhook_receiver.respond_with(401)  # failing webhook, failing SMTP login, a failing feed
    outputs = []
    for args in (
        ("--log-level", "debug", "once"),
        ("--log-level", "debug", "once"),
        ("deliveries", "--format", "json"),
        ("deliveries",),
        ("hits", "--format", "csv"),
        ("feeds", "--format", "json"),
    ):
        proc = monitor(config, *args)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    hit_id = json.loads(outputs[2])[0]["hit_id"]
    proc = monitor(config, "redeliver", hit_id)
    outputs.append(proc.stdout + proc.stderr)
    # A config error about the secret names the key, not the value.
    config.write_text(config.read_text().replace(WEBHOOK_SECRET, "whsec_!!" + SMTP_PASSWORD))
    proc = monitor(config, "once")
    assert proc.returncode == 2 and "alerts.webhook.secret" in proc.stderr
    outputs.append(proc.stdout + proc.stderr)

    text = "\n".join(outputs)
    assert "failed" in text and "HTTP 500" in text  # the run really had failures to report
    assert "535" in text or "auth" in text.lower()
    for secret in (WEBHOOK_SECRET, WEBHOOK_SECRET.removeprefix("whsec_"), SMTP_PASSWORD):
        assert secret not in text
    db_text = "\n".join(
        str(r) for r in rows(tmp_path / "monitor.db", "SELECT * FROM deliveries")
    ) + "\n".join(str(r) for r in rows(tmp_path / "monitor.db", "SELECT * FROM feeds"))
    assert SMTP_PASSWORD not in db_text and WEBHOOK_SECRET not in db_text


def test_database_files_are_private(tmp_path: Path, valid_config: Path) -> None:
    assert cli(valid_config, "once") == 0
    conn = sqlite3.connect(tmp_path / "monitor.db")  # keep the WAL and shm files in place
    try:
        conn.execute("SELECT count(*) FROM items").fetchone()
        files = sorted(tmp_path.glob("monitor.db*"))
        assert {f.name for f in files} >= {"monitor.db", "monitor.db.lock"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        conn.close()


def test_once_exits_1_when_the_database_refused_a_feeds_items(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A feed read but not stored (disk full, locked) beside one that was: `once` exited 0,
    and cron saw success while items were lost for this cycle (they come again next time)."""
    from monitor._cli import once_status
    from monitor._poll import PollReport

    stored = PollReport("a", "ok", new=3)
    refused = PollReport("b", "not-stored", error="database or disk is full")
    with caplog.at_level("ERROR"):
        assert once_status([stored, refused]) == 1
    assert "b: database or disk is full" in caplog.text
    assert once_status([refused]) == 1  # "the database cannot be used", not "no feed read"
    assert once_status([stored, PollReport("c", "error", error="HTTP 500")]) == 0
    assert once_status([PollReport("c", "error", error="HTTP 500")]) == 3
    assert once_status([]) == 0  # nothing to read: no feed, or every feed paused
