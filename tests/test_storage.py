"""Storage on real SQLite files: schema, one-transaction polls, the outbox, locks, bad files."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._config import FeedConfig
from monitor._errors import LockedError, StorageError
from monitor._lock import DatabaseLock
from monitor._models import Entry, Judgement
from monitor._storage import NewItem, Storage
from monitor._storage._schema import SCHEMA_VERSION, migrate

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
FEED = FeedConfig("http://127.0.0.1:1/feed.xml", "Test feed", 600)


def entry(key: str, title: str = "Title") -> Entry:
    return Entry(f"id:{key}", title, "Summary", f"http://x/{key}", NOW, f"fp-{key}")


def hit(topic: str = "t", score: float = 0.9) -> Judgement:
    return Judgement(topic, score, True, (("phrase:coalition of the willing", 0.5),))


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    s = Storage(tmp_path / "m.db")
    s.sync_feeds([FEED])
    return s


def store(storage: Storage, items: list[NewItem], **kw: object) -> list[str]:
    feed = storage.feed_states()[FEED.url]
    args: dict[str, object] = dict(
        title="T",
        fetch_url=FEED.url,
        etag='"e1"',
        last_modified=None,
        body_hash="h",
        warning=None,
        items=items,
        edited=[],
        channels=["webhook", "email"],
    )
    args.update(kw)
    return storage.store_poll(feed, NOW, **args)  # type: ignore[arg-type]


def test_new_file_is_private_with_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.db"
    path.parent.mkdir()  # the database's folder is never made (a config error if missing)
    Storage(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feeds", "items", "hits", "deliveries", "topic_state"} <= tables


def test_corrupt_and_foreign_files_give_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"bad\.db: cannot use the database: the file is not"):
        Storage(bad)
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageError, match="newer than this monitor"):
        Storage(newer)


def test_poll_stores_items_hits_and_outbox_together(storage: Storage) -> None:
    hits = store(
        storage,
        [
            NewItem(entry("a"), (hit(),)),
            NewItem(entry("b"), (Judgement("t", 0.1, False),)),
            NewItem(entry("c"), (), duplicate=True),
        ],
    )
    assert len(hits) == 1
    feed = storage.feed_states()[FEED.url]
    assert feed.etag == '"e1"' and feed.last_status == "ok" and feed.error_count == 0
    due = storage.due_deliveries(NOW, ["webhook", "email"])
    assert sorted(d.channel for d in due) == ["email", "webhook"]
    assert due[0].alert.id == hits[0] and due[0].alert.feed == "Test feed"
    assert due[0].alert.matched == (("phrase:coalition of the willing", 0.5),)
    rows = storage.hits()
    assert rows[0]["title"] == "Title" and rows[0]["story_id"] == hits[0]
    # the same poll again (e.g. after a crash before the ETag was known) adds nothing
    assert store(storage, [NewItem(entry("a"), (hit(),))]) == []
    assert len(storage.due_deliveries(NOW, ["webhook", "email"])) == 2


def test_republication_points_at_an_original_stored_in_the_same_poll(storage: Storage) -> None:
    # Items without a hit are written in one batch, hits and re-publications one by one:
    # the re-publication must still find its original, whichever way that was written.
    copy_of_b = Entry("id:b2", "Title", "Summary", "http://x/b2", NOW, "fp-b")
    copy_of_a = Entry("id:a2", "Title", "Summary", "http://x/a2", NOW, "fp-a")
    store(
        storage,
        [
            NewItem(entry("a"), (hit(),)),
            NewItem(entry("b"), (Judgement("t", 0.1, False),)),
            NewItem(copy_of_b, (), duplicate=True),
            NewItem(copy_of_a, (), duplicate=True),
        ],
    )
    rows = storage.conn.execute("SELECT key, id, duplicate_of FROM items").fetchall()
    ids = {key: (id_, duplicate_of) for key, id_, duplicate_of in rows}
    assert ids["id:b2"][1] == ids["id:b"][0] and ids["id:a2"][1] == ids["id:a"][0]
    assert ids["id:a"][1] is None and ids["id:b"][1] is None
    seen = storage.conn.execute("SELECT items_seen FROM feeds").fetchone()[0]
    assert seen == 2  # re-publications are not new items


def test_the_readme_query_tool_reads_the_database(storage: Storage) -> None:
    store(storage, [NewItem(entry("a"), (hit(),))])
    storage.close()
    out = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", str(storage.path),
         "select i.title, h.score from hits h join items i on i.id = h.item_id"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out) == [{"title": "Title", "score": 0.9}]


def test_later_copy_of_a_story_is_a_hit_without_alert(storage: Storage) -> None:
    store(storage, [NewItem(entry("a"), (hit(),), story_id="story_1", alert=False)])
    assert storage.hits()[0]["story_id"] == "story_1"
    assert storage.hits()[0]["alerted"] is False
    assert storage.due_deliveries(NOW, ["webhook"]) == []


def test_delivery_attempts_are_recorded(storage: Storage) -> None:
    store(storage, [NewItem(entry("a"), (hit(),))], channels=["webhook"])
    (d,) = storage.due_deliveries(NOW, ["webhook"])
    later = NOW + timedelta(seconds=5)
    storage.record_delivery(d.id, NOW, error="HTTP 500", retry_at=later)
    assert storage.due_deliveries(NOW, ["webhook"]) == []
    assert storage.next_attempt(["webhook"]) == later
    (d,) = storage.due_deliveries(later, ["webhook"])
    assert d.attempts == 1
    storage.record_delivery(d.id, later, error="HTTP 500")  # no retry left: failed
    assert storage.deliveries_report("failed")[0]["attempts"] == 2
    assert storage.requeue(d.alert.id, later) == 1
    (d,) = storage.due_deliveries(later, ["webhook"])
    storage.record_delivery(d.id, later)
    assert storage.deliveries_report("delivered")[0]["delivered_at"]


def test_disabled_channel_is_skipped_until_its_target_changes(storage: Storage) -> None:
    store(storage, [NewItem(entry("a"), (hit(),))], channels=["webhook"])
    storage.disable_channel("webhook", "http://old", NOW, "410 Gone")
    assert storage.due_deliveries(NOW, ["webhook"]) == []
    storage.enable_changed_channels({"webhook": "http://old"})
    assert storage.due_deliveries(NOW, ["webhook"]) == []
    storage.enable_changed_channels({"webhook": "http://new"})
    assert len(storage.due_deliveries(NOW, ["webhook"])) == 1


def test_locked_database_fails_cleanly_and_stores_nothing(storage: Storage, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        storage.conn.execute("PRAGMA busy_timeout = 100")
        with pytest.raises(StorageError, match="locked"):
            store(storage, [NewItem(entry("a"), (hit(),))])
    finally:
        other.execute("ROLLBACK")
    assert storage.hits() == []
    assert storage.feed_states()[FEED.url].etag is None  # nothing marked seen
    assert len(store(storage, [NewItem(entry("a"), (hit(),))])) == 1  # the next cycle catches up


def test_second_daemon_is_refused(tmp_path: Path) -> None:
    with DatabaseLock(tmp_path / "m.db"), pytest.raises(LockedError, match="already running"):
        DatabaseLock(tmp_path / "m.db").__enter__()
    with DatabaseLock(tmp_path / "m.db"):  # released on exit
        pass


def test_an_older_release_holding_the_side_lock_refuses_a_newer_one(tmp_path: Path) -> None:
    """Releases before 29 Nov 2026 locked `<database>.lock` only: an older daemon running on
    a database let a newer `monitor once` run beside it (and upgrade the file under it)."""
    import fcntl
    import os

    side = os.open(tmp_path / "m.db.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(side, b"4242")
        fcntl.flock(side, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what the older release holds
        with pytest.raises(LockedError, match=r"pid 4242, an older release"):
            DatabaseLock(tmp_path / "m.db").__enter__()
    finally:
        os.close(side)
    with DatabaseLock(tmp_path / "m.db"):  # the older one gone: runs, and holds both
        other = os.open(tmp_path / "m.db.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)


def test_topic_state_round_trip(storage: Storage) -> None:
    assert storage.topic_state("t") is None
    storage.save_topic_states({"t": {"n": 3, "df": {"a": 1}}}, NOW)
    assert storage.topic_state("t") == {"n": 3, "df": {"a": 1}}


def test_two_processes_creating_a_new_database_at_once_both_succeed(tmp_path: Path) -> None:
    """A daemon starting and `monitor feeds add` beside it both find a new file at version 0;
    the one that gets the write lock second finds the schema made, and does not create it
    again ("table already exists": the CLI failed in CI)."""
    path = tmp_path / "monitor.db"
    first = sqlite3.connect(path, isolation_level=None, timeout=10)
    second = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    errors: list[Exception] = []

    def open_second() -> None:
        try:
            migrate(second)
        except sqlite3.Error as exc:
            errors.append(exc)

    first.execute("BEGIN IMMEDIATE")  # another process holds the write lock …
    waiting = threading.Thread(target=open_second)
    waiting.start()
    time.sleep(0.3)  # … while this one has read version 0 and waits for the lock
    first.execute("ROLLBACK")
    migrate(first)
    waiting.join(15)
    assert errors == []
    for conn in (first, second):
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()


def test_a_full_disk_during_an_upgrade_says_so_and_leaves_the_file_as_it_was(
    tmp_path: Path,
) -> None:
    """The disk filling up mid-migration (here: the file's own size limit, `max_page_count`):
    the error says so and the file keeps its version. (On a real full disk SQLite may roll
    back by itself, and our own ROLLBACK then failed with "cannot rollback - no transaction
    is active", hiding the cause: the rollback is now skipped when nothing is open.)"""
    from tests.helpers import make_v1_database

    path = tmp_path / "old.db"
    make_v1_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO feeds (url, fetch_url, name) VALUES ('http://a/', 'http://a/', 'a')")
    for n in range(300):
        conn.execute(
            "INSERT INTO items (feed_id, key, fingerprint, title, summary, link, first_seen) "
            "VALUES (1, ?, ?, ?, ?, 'http://a/x', 'x')",
            (f"k{n}", f"f{n}", f"title {n} " * 20, f"summary {n} " * 50),
        )
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_a_backup_put_in_place_of_the_database_is_not_spoilt_by_its_write_ahead_log(
    tmp_path: Path,
) -> None:
    """The daemon stops when its file is replaced; its write-ahead log stayed beside the new
    file, and the next start applied it to the restored backup: "row 3 missing from index",
    or "database disk image is malformed" and a restart loop."""
    import shutil

    from monitor._errors import DatabaseReplacedError

    path = tmp_path / "monitor.db"
    storage = Storage(path)
    storage.save_topic_states({"t": {"n": 1}}, NOW)
    backup = tmp_path / "backup.db"
    with sqlite3.connect(backup) as copy:
        storage.conn.backup(copy)
    copy.close()
    for n in range(50):  # the running daemon writes on: its log fills
        storage.save_topic_states({f"t{n}": {"n": n, "pad": "x" * 2000}}, NOW)
    assert (tmp_path / "monitor.db-wal").stat().st_size > 0
    shutil.copy(backup, tmp_path / "restore.tmp")
    (tmp_path / "restore.tmp").replace(path)  # the user puts the backup in place
    with pytest.raises(DatabaseReplacedError):
        storage.check_file()  # what the daemon's watch does every 2 s
    storage.close()
    again = Storage(path)  # the next start
    try:
        assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert again.topic_state("t") == {"n": 1} and again.topic_state("t3") is None
    finally:
        again.close()
