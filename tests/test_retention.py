"""Retention (``[monitor] keep_items`` / ``keep_hits``) on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._config import FeedConfig, load_config
from monitor._decide import expired, retention_cutoff
from monitor._errors import ConfigError
from monitor._models import Entry, Judgement
from monitor._storage import NewItem, Storage
from tests.feedserver import FeedServer
from tests.helpers import cli, make_v1_database, serve_items, write_config

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=120)
FEED = FeedConfig("http://127.0.0.1:1/feed.xml", "Test feed", 600)
DAY = 86400.0


def entry(key: str, when: datetime, title: str | None = None) -> Entry:
    title = title or f"Title {key}"
    return Entry(f"id:{key}", title, "Summary", f"http://x/{key}", when, f"fp-{title}")


def hit() -> Judgement:
    return Judgement("t", 0.9, True, (("coalition", 0.5),))


def store(storage: Storage, now: datetime, items: list[NewItem]) -> list[str]:
    return storage.store_poll(
        storage.feed_state(FEED.url),
        now,
        title="T",
        fetch_url=FEED.url,
        etag=None,
        last_modified=None,
        body_hash=None,
        warning=None,
        items=items,
        edited=[],
        channels=["webhook"],
    )


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    s = Storage(tmp_path / "m.db")
    s.sync_feeds([FEED])
    return s


def keys(storage: Storage) -> set[str]:
    return {row[0] for row in storage.conn.execute("SELECT key FROM items")}


def deliver_all(storage: Storage) -> None:
    storage.conn.execute("UPDATE deliveries SET status = 'delivered'")


# -- config --------------------------------------------------------------------------------


def config_with(tmp_path: Path, monitor: str) -> Path:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(f"[monitor]\n{monitor}\n", encoding="utf-8")
    return path


def test_keep_items_and_keep_hits_are_durations(tmp_path: Path) -> None:
    settings = load_config(config_with(tmp_path, 'keep_items = "90d"\nkeep_hits = "2w"')).settings
    assert settings.keep_items == 90 * DAY
    assert settings.keep_hits == 14 * DAY
    settings = load_config(config_with(tmp_path, "")).settings
    assert settings.keep_items is None and settings.keep_hits is None  # kept for ever


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('keep_items = "soon"', "monitor.keep_items: expected a duration such as '30s'"),
        ('keep_items = "1h"', "monitor.keep_items: must be at least 1d, got '1h'"),
        ("keep_hits = true", "monitor.keep_hits: expected a duration"),
        ('keep_item = "90d"', "monitor.keep_item: unknown key"),
    ],
)
def test_bad_retention_names_file_key_and_expectation(
    tmp_path: Path, line: str, message: str
) -> None:
    path = config_with(tmp_path, line)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {message}")


# -- the pure decision ---------------------------------------------------------------------


def test_entries_older_than_the_period_are_not_taken_in() -> None:
    cutoff = retention_cutoff(NOW, 90 * DAY)
    assert cutoff == NOW - timedelta(days=90)
    assert expired(OLD, cutoff)
    assert not expired(NOW, cutoff)
    assert not expired(None, cutoff)  # undated: cannot tell
    assert retention_cutoff(NOW, None) is None
    assert not expired(OLD, None)


# -- storage -------------------------------------------------------------------------------


def test_expire_deletes_old_items_but_keeps_hits(storage: Storage) -> None:
    store(
        storage,
        OLD,
        [
            NewItem(entry("old-plain", OLD), ()),
            NewItem(entry("old-hit", OLD), (hit(),), story_id=None),
        ],
    )
    store(storage, NOW, [NewItem(entry("new-plain", NOW), ())])
    cutoff = NOW - timedelta(days=90)
    assert storage.expire(items_before=cutoff, keep_latest=0) == (1, 0)
    assert keys(storage) == {"id:old-hit", "id:new-plain"}
    assert storage.expire(items_before=cutoff, keep_latest=0) == (0, 0)  # done: nothing more to do
    # The hit is intact, with its alert.
    assert [h["title"] for h in storage.hits()] == ["Title old-hit"]
    assert storage.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1


def test_expire_works_in_batches(storage: Storage) -> None:
    store(storage, OLD, [NewItem(entry(f"k{i}", OLD), ()) for i in range(25)])
    batches = []
    while (done := storage.expire(items_before=NOW, limit=10, keep_latest=0)) != (0, 0):
        batches.append(done)
    assert batches == [(10, 0), (10, 0), (5, 0)]
    assert keys(storage) == set()


def test_a_republication_loses_its_pointer_to_a_deleted_original(storage: Storage) -> None:
    store(storage, OLD, [NewItem(entry("orig", OLD, "Same story"), ())])
    store(storage, NOW, [NewItem(entry("copy", NOW, "Same story"), (), duplicate=True)])
    row = storage.conn.execute("SELECT duplicate_of FROM items WHERE key = 'id:copy'").fetchone()
    assert row[0] is not None
    assert storage.expire(items_before=NOW - timedelta(days=90), keep_latest=0) == (
        1,
        0,
    )  # no FK error
    row = storage.conn.execute("SELECT duplicate_of FROM items WHERE key = 'id:copy'").fetchone()
    assert row[0] is None
    assert keys(storage) == {"id:copy"}


def test_keep_hits_expires_hits_and_their_alerts_unless_pending(storage: Storage) -> None:
    store(storage, OLD, [NewItem(entry("sent", OLD), (hit(),))])
    deliver_all(storage)
    store(storage, OLD, [NewItem(entry("pending", OLD), (hit(),))])  # its alert is not out
    store(storage, NOW, [NewItem(entry("recent", NOW), (hit(),))])
    cutoff = NOW - timedelta(days=90)
    assert storage.expire(items_before=cutoff, hits_before=cutoff, keep_latest=0) == (1, 1)
    assert keys(storage) == {"id:pending", "id:recent"}
    assert {h["title"] for h in storage.hits()} == {"Title pending", "Title recent"}
    assert storage.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 2


def test_a_version_1_file_gets_the_duplicate_of_index(tmp_path: Path) -> None:
    make_v1_database(tmp_path / "m.db")
    Storage(tmp_path / "m.db").close()
    conn = sqlite3.connect(tmp_path / "m.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "items_duplicate_of" in names
    plan = conn.execute("EXPLAIN QUERY PLAN SELECT id FROM items WHERE duplicate_of = 1").fetchall()
    assert "items_duplicate_of" in str(plan)


# -- end to end: `monitor once` applies it ---------------------------------------------------


def test_once_applies_retention_and_skips_entries_older_than_the_period(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = serve_items(
        feed_server,
        [
            *(
                {"feed": "f", "title": f"Fresh news {n}", "summary": "s", "when": NOW}
                for n in range(3)  # the feed's latest three stay whatever their age
            ),
            {"feed": "f", "title": "An old article", "summary": "s", "when": OLD},
        ],
    )
    url = next(iter(urls.values()))
    config = write_config(tmp_path, [url], monitor='keep_items = "90d"')
    # A database from before: an old item that hit and one that did not.
    storage = Storage(tmp_path / "monitor.db")
    storage.sync_feeds([FeedConfig(url, "f", 600)])
    state = storage.feed_state(url)
    storage.store_poll(
        state,
        OLD,
        title="T",
        fetch_url=url,
        etag=None,
        last_modified=None,
        body_hash=None,
        warning=None,
        items=[NewItem(entry("was-plain", OLD), ()), NewItem(entry("was-hit", OLD), (hit(),))],
        edited=[],
        channels=[],
    )
    storage.close()

    assert cli(config, "once") == 0

    conn = sqlite3.connect(tmp_path / "monitor.db")
    titles = {r[0] for r in conn.execute("SELECT title FROM items")}
    # The old plain item is deleted, the hit kept; the feed's old article is not taken in
    # (it would be deleted at once, and come back as new at every change of the feed).
    assert titles == {"Title was-hit", "Fresh news 0", "Fresh news 1", "Fresh news 2"}


def test_an_undated_item_deleted_by_retention_is_not_taken_in_again(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """An undated entry cannot be told old by its date. Once retention deleted it (and its
    hit, its alert sent), the feed still listing it must not bring it back as new: that
    re-sent the alert under the same id."""
    from tests.feedserver import rss

    on = load_clear_on_topic()
    undated = {
        "title": on["title"],
        "summary": on["summary"],
        "link": "https://e.test/u",
        "guid": "u-1",
    }
    plain = {
        "title": "Weather report",
        "summary": "Rain",
        "link": "https://e.test/w",
        "guid": "w-1",
    }
    # the feed's latest items stay whatever their age (its rhythm): three dated ones here
    fillers = [
        {"title": f"Tide table {n}", "summary": "", "link": f"https://e.test/t{n}",
         "guid": f"t-{n}", "published": NOW - timedelta(hours=n)}
        for n in range(3)
    ]  # fmt: skip
    feed_server.add("/f.xml", rss([undated, plain, *fillers]))
    config = write_config(
        tmp_path, [feed_server.url("/f.xml")], monitor='keep_items = "1d"\nkeep_hits = "1d"'
    )
    assert cli(config, "once") == 0
    db = tmp_path / "monitor.db"
    conn = sqlite3.connect(db)
    [(hit_id,)] = conn.execute("SELECT id FROM hits").fetchall()
    old = (NOW - timedelta(days=3)).isoformat()
    with conn:
        conn.execute("UPDATE items SET first_seen = ?", (old,))
        conn.execute("UPDATE hits SET detected_at = ?", (old,))
        conn.execute("UPDATE deliveries SET status = 'delivered'")
    assert cli(config, "once") == 0  # retention deletes both items and the hit
    kept = {f["title"] for f in fillers}
    assert {r[0] for r in conn.execute("SELECT title FROM items")} == kept
    feed_server.add(
        "/f.xml",
        rss(
            [
                {**undated, "title": undated["title"]},
                plain,
                {
                    "title": "Fresh report",
                    "summary": "Sun",
                    "link": "https://e.test/n",
                    "guid": "n-1",
                },
            ]
        ),
    )
    assert cli(config, "once") == 0
    titles = {r[0] for r in conn.execute("SELECT title FROM items")}
    assert titles == {"Fresh report", *kept}, titles
    assert (
        conn.execute("SELECT count(*) FROM deliveries WHERE hit_id = ?", (hit_id,)).fetchone()[0]
        == 0
    )
    # retention turned off: what it deleted still does not come back
    config.write_text(config.read_text().replace('keep_items = "1d"\nkeep_hits = "1d"', ""))
    feed_server.add("/f.xml", rss([undated, plain]))
    assert cli(config, "once") == 0
    titles = {r[0] for r in conn.execute("SELECT title FROM items")}
    assert titles == {"Fresh report", *kept}, titles
    # the same GUID for another story (a feed numbering its items) is new
    feed_server.add("/f.xml", rss([{**undated, "title": "Harbour reopens", "summary": "Boats"}]))
    assert cli(config, "once") == 0
    titles = {r[0] for r in conn.execute("SELECT title FROM items")}
    assert titles == {"Fresh report", "Harbour reopens", *kept}, titles
    conn.close()


def load_clear_on_topic() -> dict[str, str]:
    from tests.helpers import DATA, load_items

    return next(i for i in load_items(DATA / "clear_items.jsonl") if i["label"] == 2)


def test_retention_keeps_a_dead_feeds_latest_items_so_it_stays_silent(
    storage: Storage,
) -> None:
    """Feed health reads a feed's rhythm from its latest items. Retention deleting all of a
    dead feed's items turned it "ok", with a false "healthy again" alert."""
    from monitor._cli_health import add_health

    last = NOW - timedelta(days=200)
    items = [NewItem(entry(f"d{n}", last - timedelta(hours=n)), ()) for n in range(30)]
    store(storage, last, items)
    assert storage.expire(items_before=NOW - timedelta(days=90)) == (27, 0)
    assert len(keys(storage)) == 3
    [row] = add_health(storage, storage.feeds_report(), NOW)
    assert row["health"] == "silent 200d (usually every 1h)", row["health"]
