"""One contract, two backends: every test runs on SQLite and, when ``MONITOR_TEST_PG_DSN``
names a database, on PostgreSQL (each test in a fresh schema). Real databases, no mocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor._config import FeedConfig
from monitor._errors import StorageError
from monitor._models import Entry, Judgement
from monitor._storage import NewItem, Storage, Store

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
FEED = FeedConfig("http://127.0.0.1:1/feed.xml", "Test feed", 600)
OTHER = FeedConfig("http://127.0.0.1:1/other.xml", "Other feed", 600)
CHANNELS = ["webhook", "email"]


def open_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if name == "sqlite":
        tmp_path.mkdir(exist_ok=True)
        return Storage(tmp_path / "m.db")
    from monitor._storage._postgres import PostgresStorage

    dsn: str = request.getfixturevalue("pg_schema_dsn")
    return PostgresStorage(dsn)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    name: str = request.param
    if name == "postgres":
        request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    return name


@pytest.fixture
def storage(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    s = open_backend(backend, tmp_path, request)
    s.sync_feeds([FEED, OTHER])
    yield s
    s.close()


def entry(key: str, title: str = "Title", fp: str | None = None) -> Entry:
    return Entry(f"id:{key}", title, "Summary", f"http://x/{key}", NOW, fp or f"fp-{key}")


def hit(topic: str = "t", score: float = 0.9) -> Judgement:
    return Judgement(topic, score, True, (("phrase:coalition of the willing", 0.5),))


def miss(topic: str = "t") -> Judgement:
    return Judgement(topic, 0.01, False, ())


def store(storage: Store, items: list[NewItem], *, feed: FeedConfig = FEED, **kw: Any) -> list[str]:
    state = storage.feed_state(feed.url)
    args: dict[str, Any] = dict(
        title="T",
        fetch_url=feed.url,
        etag='"e1"',
        last_modified=None,
        body_hash="h",
        warning=None,
        items=items,
        edited=[],
        channels=CHANNELS,
    )
    now = kw.pop("now", NOW)
    args.update(kw)
    return storage.store_poll(state, now, **args)


def test_an_edited_item_gets_the_hits_it_had_not_and_alerts_once(storage: Store) -> None:
    """An item stored as no hit and edited into the topic: a hit for it, one alert; its
    next edit adds none; the item's text and best score are the edited ones."""
    assert store(storage, [NewItem(entry("a", "Before"), (miss(), miss("u")))]) == []
    after = entry("a", "After", fp="fp-After")
    [first] = store(storage, [], edited=[NewItem(after, (hit(), miss("u")), story_id="s1")])
    again = entry("a", "Again", fp="fp-Again")
    assert (
        store(storage, [], edited=[NewItem(again, (hit(score=0.8), miss("u")), story_id="s1")])
        == []
    )
    [row] = storage.hits()
    assert (row["id"], row["title"], row["alerted"]) == (first, "After", True)
    assert {d["hit_id"] for d in storage.deliveries_report()} == {first}
    item = storage.find_item("http://x/a")
    assert item is not None and (item["title"], item["best_score"]) == ("Again", 0.8)
    # a topic it was no hit for: a hit of its own, and the story's first alert for that topic
    [other] = store(storage, [], edited=[NewItem(again, (hit(), hit("u")), story_id="s1")])
    assert {h["topic"]: h["alerted"] for h in storage.hits()} == {"t": True, "u": True}
    assert other != first and storage.story_alert("s1", "u") == other


def test_schema_is_created_once_and_reopened(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first = open_backend(backend, tmp_path, request)
    first.sync_feeds([FEED])
    store(first, [NewItem(entry("a"), (hit(),))])
    first.close()
    again = open_backend(backend, tmp_path, request)  # migrating again changes nothing
    assert [h["title"] for h in again.hits()] == ["Title"]
    again.close()


def test_a_poll_stores_items_hits_outbox_and_feed_state(storage: Store) -> None:
    ids = store(storage, [NewItem(entry("a"), (hit(),)), NewItem(entry("b"), (miss(),))])
    assert len(ids) == 1 and ids[0].startswith("hit_")
    [row] = storage.hits()
    assert row["id"] == ids[0] and row["alerted"] is True and row["topic"] == "t"
    assert row["matched"] == [["phrase:coalition of the willing", 0.5]]
    assert row["deliveries"] == "email:pending webhook:pending"
    assert row["detected_at"] == "2025-03-11T12:00:00.000Z"
    state = storage.feed_state(FEED.url)
    assert (state.etag, state.last_status, state.error_count) == ('"e1"', "ok", 0)
    report = {f["url"]: f for f in storage.feeds_report()}
    assert report[FEED.url]["items_seen"] == 2 and report[FEED.url]["hits"] == 1
    assert [f["name"] for f in storage.feeds_report()] == ["Other feed", "Test feed"]
    keys, prints = storage.known_entries(state, [entry("a"), entry("b"), entry("c")])
    assert set(keys) == {"id:a", "id:b"} and prints == {"fp-a", "fp-b"}


def test_a_failing_poll_stores_nothing(storage: Store) -> None:
    store(storage, [NewItem(entry("a"), (miss(),))])
    with pytest.raises(StorageError):  # the same channel twice: the outbox refuses the row
        store(storage, [NewItem(entry("b"), (hit(),))], channels=["webhook", "webhook"],
              etag='"e2"')  # fmt: skip
    assert storage.hits() == []
    assert storage.deliveries_report() == []
    state = storage.feed_state(FEED.url)
    assert state.etag == '"e1"'  # the feed's state is the last successful poll's
    keys, _ = storage.known_entries(state, [entry("b")])
    assert keys == {}


def test_a_story_alerts_once_and_duplicates_are_stored_quietly(storage: Store) -> None:
    first = store(storage, [NewItem(entry("a"), (hit(),), story_id="s1")])
    second = store(storage, [NewItem(entry("a2"), (hit(),), story_id="s1")], feed=OTHER)
    dup = store(storage, [NewItem(entry("a3", fp="fp-a"), (hit(),), duplicate=True)])
    assert dup == []
    rows = {h["id"]: h for h in storage.hits()}
    assert rows[first[0]]["alerted"] is True and rows[second[0]]["alerted"] is False
    assert rows[second[0]]["story_id"] == "s1"
    assert len(storage.deliveries_report()) == 2  # the first hit's two channels only
    assert storage.story_alert("s1", "t") == first[0]  # what `redeliver` points a copy to
    assert storage.story_alert("s2", "t") is None and storage.story_alert("s1", "u") is None
    state = storage.feed_state(FEED.url)  # the story "fp-a" has a re-publication, "fp-b" none
    assert storage.republished(state, ["fp-a", "fp-b"]) == {"fp-a"}


def test_a_later_copy_alerts_each_topic_its_story_had_not_hit(storage: Store) -> None:
    """One alert per story *and topic*: a later copy of a story (the grouper's alert=False)
    that hits a topic the story's earlier copies did not hit is that topic's first report of
    the story, and alerts on its channels. It alerted nowhere: grouping ignores topics, so a
    story first hit by a store-only topic (channels = []) never reached the topic that has
    channels, and a story routed to one topic's webhook never reached another's email."""
    routes = {"quiet": [], "wire": ["webhook"], "desk": ["email"]}
    [first] = store(storage, [NewItem(entry("a"), (hit("quiet"), miss("desk")), story_id="s1")],
                    routes=routes)  # fmt: skip
    copy = NewItem(entry("a2"), (hit("quiet"), hit("wire")), story_id="s1", alert=False)
    quiet_again, wire = store(storage, [copy], feed=OTHER, routes=routes)
    third = NewItem(entry("a3"), (hit("wire"), hit("desk")), story_id="s1", alert=False)
    wire_again, desk = store(storage, [third], feed=OTHER, routes=routes)
    rows = {h["id"]: h for h in storage.hits()}
    assert rows[first]["alerted"] is True and rows[first]["deliveries"] is None
    assert rows[quiet_again]["alerted"] is False and rows[wire_again]["alerted"] is False
    assert rows[wire]["alerted"] is True and rows[wire]["deliveries"] == "webhook:pending"
    assert rows[desk]["alerted"] is True and rows[desk]["deliveries"] == "email:pending"
    assert storage.story_alert("s1", "wire") == wire and storage.story_alert("s1", "desk") == desk
    assert storage.story_alert("s1", "quiet") is None  # it alerted nobody: no channel
    # a later copy of a story the database has no hit of (the grouper's word alone) stays quiet
    [lone] = store(storage, [NewItem(entry("z"), (hit("wire"),), story_id="s9", alert=False)])
    assert {h["id"]: h["alerted"] for h in storage.hits()}[lone] is False


def test_an_alerted_item_met_again_in_another_feed_is_not_alerted_again(storage: Store) -> None:
    """A feed whose URL changed in the config is a new feed: its items come again, weeks old,
    past any story window, so the grouper gives them new stories. The same GUID with the same
    text already alerted: stored, not alerted again. Other text is another story."""
    [first] = store(storage, [NewItem(entry("a"), (hit(),), story_id="s1")])
    [again] = store(storage, [NewItem(entry("a"), (hit(),), story_id="s9")], feed=OTHER)
    [other] = store(
        storage, [NewItem(entry("b", fp="fp-new"), (hit(),), story_id="s8")], feed=OTHER
    )
    # the first feed edits an item after it alerted; the moved feed brings the edited text
    [edited] = store(storage, [NewItem(entry("c", "Before"), (hit(),), story_id="s3")])
    store(
        storage, [], edited=[NewItem(entry("c", "After", fp="fp-After"), (hit(),), story_id="s3")]
    )
    [moved] = store(
        storage, [NewItem(entry("c", "After", fp="fp-After"), (hit(),), story_id="s7")], feed=OTHER
    )
    rows = {h["id"]: h for h in storage.hits()}
    assert rows[first]["alerted"] is True and rows[again]["alerted"] is False
    assert rows[other]["alerted"] is True
    assert rows[edited]["alerted"] is True and rows[moved]["alerted"] is False
    assert {d["hit_id"] for d in storage.deliveries_report()} == {first, other, edited}


def test_routes_queue_a_topic_on_its_own_channels_only(storage: Store) -> None:
    item = NewItem(entry("a"), (hit("mail-only"), hit("nowhere"), hit("all")))
    ids = store(storage, [item], routes={"mail-only": ["email"], "nowhere": []})
    assert len(ids) == 3
    rows = {h["topic"]: h["deliveries"] for h in storage.hits()}
    assert rows == {
        "mail-only": "email:pending",
        "nowhere": None,
        "all": "email:pending webhook:pending",
    }


def test_reused_keys_are_found_by_prefix(storage: Store) -> None:
    store(storage, [NewItem(entry("k"), ()), NewItem(entry("k#2", "Old"), ())])
    state = storage.feed_state(FEED.url)
    found = storage.reused_keys(state, ["id:k", "id:z"], 10)
    assert found == {"id:k": [("id:k#2", "Old", "Summary")], "id:z": []}


def test_reused_keys_reads_only_each_keys_latest_stories(storage: Store) -> None:
    # A feed whose items all share one link reuses that key for every story: the lookup of a
    # changed key must not read the feed's whole history on every poll.
    store(storage, [NewItem(entry(f"k#{i}", f"Story {i}"), ()) for i in range(5)])
    state = storage.feed_state(FEED.url)
    found = storage.reused_keys(state, ["id:k"], 3)
    assert [title for _, title, _ in found["id:k"]] == ["Story 4", "Story 3", "Story 2"]


def test_due_deliveries_are_delivered_retried_failed_and_requeued(storage: Store) -> None:
    [hid] = store(storage, [NewItem(entry("a", "Alert me"), (hit(),))])
    due = storage.due_deliveries(NOW, ["webhook"])
    assert [(d.channel, d.alert.id, d.alert.title) for d in due] == [("webhook", hid, "Alert me")]
    assert due[0].alert.detected_at == NOW and due[0].alert.published == NOW
    storage.record_delivery(due[0].id, NOW)
    assert storage.due_deliveries(NOW + timedelta(hours=1), ["webhook"]) == []

    [mail] = storage.due_deliveries(NOW, ["email"])
    later = NOW + timedelta(minutes=5)
    storage.record_delivery(mail.id, NOW, error="421", retry_at=later, remaining=["b@x"])
    assert storage.next_attempt(["email"]) == later
    [again] = storage.due_deliveries(later, ["email"])
    assert again.attempts == 1 and again.recipients == ("b@x",)
    storage.record_delivery(again.id, later, error="550 no")
    statuses = {d["channel"]: d["status"] for d in storage.deliveries_report()}
    assert statuses == {"webhook": "delivered", "email": "failed"}
    assert [d["channel"] for d in storage.deliveries_report("failed")] == ["email"]

    assert storage.requeue(hid, later) == 2
    assert {d.channel for d in storage.due_deliveries(later, CHANNELS)} == set(CHANNELS)
    assert storage.requeue("hit_nothing", later) == 0


def test_a_gone_channel_waits_until_its_target_changes(storage: Store) -> None:
    store(storage, [NewItem(entry("a"), (hit(),))])
    storage.disable_channel("webhook", "http://old", NOW, "410 Gone")
    assert storage.disabled_channels() == {"webhook": "410 Gone"}
    assert storage.due_deliveries(NOW, ["webhook"]) == []
    storage.enable_changed_channels({"webhook": "http://old"})
    assert storage.disabled_channels() == {"webhook": "410 Gone"}
    storage.enable_changed_channels({"webhook": "http://new"})
    assert storage.disabled_channels() == {}
    assert len(storage.due_deliveries(NOW, ["webhook"])) == 1


def test_pending_alerts_are_counted_by_channel(storage: Store) -> None:
    assert storage.pending_channels() == {}
    store(storage, [NewItem(entry("a"), (hit(),)), NewItem(entry("b", "B"), (hit(),))])
    storage.record_health(
        FEED.url, "feed", "silent", title="t", detail="d", now=NOW, channels=["webhook"]
    )
    assert storage.pending_channels() == {"webhook": 3, "email": 2}
    for delivery in storage.due_deliveries(NOW, ["email"]):
        storage.record_delivery(delivery.id, NOW)
    assert storage.pending_channels() == {"webhook": 3}


def test_failures_not_modified_and_clamped_waits(storage: Store) -> None:
    state = storage.feed_state(FEED.url)
    until = NOW + timedelta(minutes=30)
    storage.record_failure(state, NOW, "HTTP 503", retry_until=until)
    storage.record_failure(state, NOW, "HTTP 410", retry_until=None, gone=True)
    failed = storage.feed_state(FEED.url)
    assert (failed.error_count, failed.last_status, failed.retry_until) == (2, "gone", None)
    storage.record_not_modified(failed, NOW, fetch_url="http://127.0.0.1:1/moved.xml")
    ok = storage.feed_state(FEED.url)
    assert (ok.error_count, ok.last_status, ok.fetch_url) == (
        0,
        "not-modified",
        "http://127.0.0.1:1/moved.xml",
    )
    storage.record_failure(ok, NOW + timedelta(hours=2), "x", retry_until=NOW + timedelta(hours=3))
    assert storage.clamp_waits(NOW) == 1
    clamped = storage.feed_state(FEED.url)
    assert clamped.last_polled == NOW and clamped.retry_until == NOW + timedelta(hours=1)
    assert set(storage.feed_states()) == {FEED.url, OTHER.url}


def test_sync_feeds_renames_and_keeps_another_spelling(storage: Store) -> None:
    storage.sync_feeds([FeedConfig(FEED.url, "Renamed", 600)])
    assert storage.feed_state(FEED.url).name == "Renamed"
    with pytest.raises(StorageError, match="not in the database"):
        storage.feed_state("http://127.0.0.1:1/none.xml")


def test_a_feed_dropped_from_the_config_is_no_longer_listed_and_comes_back(
    storage: Store,
) -> None:
    """SIGHUP with a `[[feeds]]` table deleted: the daemon stops polling it, and `monitor
    feeds` must stop listing it too (its row stays, for its items' and hits' history)."""
    store(storage, [NewItem(entry("a"), (hit(),))], feed=OTHER)
    storage.sync_feeds([FEED])
    assert [row["url"] for row in storage.feeds_report()] == [FEED.url]
    assert {row.url: row.source for row in storage.feed_rows()}[OTHER.url] == "removed"
    assert len(storage.hits()) == 1  # its history is kept
    storage.sync_feeds([FEED, OTHER])  # back in the config: listed again, with its state
    assert sorted(row["url"] for row in storage.feeds_report()) == sorted([FEED.url, OTHER.url])
    assert {r["url"]: r["items_seen"] for r in storage.feeds_report()}[OTHER.url] == 1


def test_topic_state_feedback_and_recent_hits(storage: Store) -> None:
    assert storage.topic_state("t") is None
    storage.save_topic_states({"t": {"n": 3, "idf": {"a": 1.5}}}, NOW)
    storage.save_topic_states({"t": {"n": 4}}, NOW)
    assert storage.topic_state("t") == {"n": 4}
    assert storage.feedback() == []
    store(storage, [NewItem(entry("a", "Hit"), (hit(), hit("u")))])
    assert storage.stored_topics() == ["t", "u"]  # a state, hits: each topic once
    [recent] = storage.recent_hit_items(NOW - timedelta(days=1))
    assert (recent["feed_url"], recent["key"], recent["title"]) == (FEED.url, "id:a", "Hit")
    assert storage.recent_hit_items(NOW + timedelta(days=1)) == []
    rhythms = storage.feed_rhythms(timedelta(days=1))
    assert rhythms[FEED.url][0] == 1 and rhythms[OTHER.url][0] == 0


def test_topic_state_updates_from_two_connections_lose_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two stores (two connections: two workers) read-modify-write the same topics at once,
    in opposite orders; each update sees the other's last write, so every increment counts."""
    stores = [open_backend(backend, tmp_path, request) for _ in range(2)]
    rounds = 25
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def bump(topic: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        time.sleep(0.001)  # widen the window between the read and the write
        return {"n": (stored or {}).get("n", 0) + 1}

    def worker(s: Store, topics: list[str]) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                written = s.update_topic_states(topics, bump, NOW)
                assert set(written) == set(topics)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(stores[0], ["a", "b"])),
        threading.Thread(target=worker, args=(stores[1], ["b", "a"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert stores[0].topic_state("a") == {"n": 2 * rounds}
        assert stores[1].topic_state("b") == {"n": 2 * rounds}
    finally:
        for s in stores:
            s.close()


def test_hit_items_after_a_watermark_with_their_stories(storage: Store) -> None:
    start = storage.last_item_id()
    store(storage, [NewItem(entry("a", "Hit"), (hit(),), story_id="story_x")])
    store(storage, [NewItem(entry("b", "Miss"), (miss(),))])
    store(storage, [NewItem(entry("c", "Other hit"), (hit(), hit("u")))], feed=OTHER)
    rows = storage.hit_items_after(start, NOW - timedelta(days=1))
    assert [(r["feed_url"], r["key"], r["title"]) for r in rows] == [
        (FEED.url, "id:a", "Hit"),
        (OTHER.url, "id:c", "Other hit"),  # one row per item, whatever its topics
    ]
    assert rows[0]["story_id"] == "story_x"
    assert rows[0]["item_id"] < rows[1]["item_id"] <= storage.last_item_id()
    assert storage.hit_items_after(rows[0]["item_id"], NOW - timedelta(days=1)) == rows[1:]
    assert storage.hit_items_after(rows[1]["item_id"], NOW - timedelta(days=1)) == []
    assert storage.hit_items_after(start, NOW + timedelta(days=1)) == []  # detected before


def test_the_story_lock_admits_one_worker_at_a_time(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("pg_schema_dsn")  # SQLite has one writer: its lock is nothing
    first, second = (open_backend("postgres", tmp_path, request) for _ in range(2))
    events: list[str] = []
    trying = threading.Event()

    def other() -> None:
        trying.set()
        with second.story_lock():
            events.append("second has it")

    try:
        with first.story_lock():
            thread = threading.Thread(target=other)
            thread.start()
            trying.wait()
            time.sleep(0.3)  # time for the second to take the lock, were it free
            events.append("first lets go")
        thread.join()
        with first.story_lock():  # released by both: taken again at once
            pass
    finally:
        first.close()
        second.close()
    assert events == ["first lets go", "second has it"]


def test_a_worker_that_cannot_get_the_story_lock_in_time_fails_its_poll(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("pg_schema_dsn")
    first, second = (open_backend("postgres", tmp_path, request) for _ in range(2))
    second.story_wait = 0.2  # type: ignore[attr-defined]
    first.sync_feeds([FEED, OTHER])
    try:
        with first.story_lock():
            with pytest.raises(StorageError, match="story lock"), second.story_lock():
                pass
            store(first, [NewItem(entry("a", "Hit"), (hit(),))])  # the holder goes on
        with second.story_lock():  # free again: taken, and other statements do not time out
            assert second.hit_items_after(0, NOW - timedelta(days=1))
    finally:
        first.close()
        second.close()


def test_reports_are_the_same_on_both_backends(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("pg_schema_dsn")  # skips without PostgreSQL
    outputs = []
    for name in ("sqlite", "postgres"):
        s = open_backend(name, tmp_path / name, request)
        s.sync_feeds([FEED, OTHER])
        store(s, [NewItem(entry("a"), (hit(), hit("u", 0.7))), NewItem(entry("b"), ())])
        store(s, [NewItem(entry("c"), (hit(),), story_id="x")], feed=OTHER)
        s.record_delivery(1, NOW + timedelta(seconds=3))  # (claiming differs: see below)
        outputs.append((s.hits(), s.hits(topic="u", limit=1), s.feeds_report(),
                        s.deliveries_report(), s.hit_entries(),
                        s.hit_entries(topic="t", since=NOW, limit=1)))  # fmt: skip
        s.close()
    assert outputs[0] == outputs[1]


def test_the_atom_feeds_hits_newest_first_as_they_were_judged(storage: Store) -> None:
    store(storage, [NewItem(entry("a", "First"), (hit(), hit("u", 0.7)))])
    later = NOW + timedelta(hours=1)
    store(storage, [NewItem(entry("b", "Second"), (hit(),))], feed=OTHER, now=later)
    rows = storage.hit_entries()
    assert (rows[0]["title"], rows[0]["topic"]) == ("Second", "t")
    assert {(r["title"], r["topic"]) for r in rows[1:]} == {("First", "t"), ("First", "u")}
    second = rows[0]
    assert second["link"] == "http://x/b" and second["feed"] == "Other feed"
    assert second["summary"] == "Summary" and second["score"] == 0.9
    assert second["matched"] == [["phrase:coalition of the willing", 0.5]]
    assert second["detected_at"] == "2025-03-11T13:00:00.000Z"
    assert second["published"] == "2025-03-11T12:00:00.000Z"
    assert [r["title"] for r in storage.hit_entries(topic="u")] == ["First"]
    assert [r["title"] for r in storage.hit_entries(since=later)] == ["Second"]
    assert len(storage.hit_entries(limit=2)) == 2


def test_postgres_claims_deliveries_once_across_workers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("pg_schema_dsn")
    one = open_backend("postgres", tmp_path, request)
    two = open_backend("postgres", tmp_path, request)
    one.sync_feeds([FEED])
    store(one, [NewItem(entry(str(n)), (hit(),)) for n in range(10)])
    a = one.due_deliveries(NOW, ["webhook"], limit=4)
    b = two.due_deliveries(NOW, ["webhook"], limit=100)
    assert len(a) == 4 and len(b) == 6
    assert not {d.id for d in a} & {d.id for d in b}  # no row handed to both workers
    assert two.due_deliveries(NOW, ["webhook"]) == []
    # a worker that dies mid-send: its rows fall due again when the lease runs out
    later = NOW + timedelta(minutes=5)
    assert {d.id for d in two.due_deliveries(later, ["webhook"])} == {d.id for d in a + b}
    one.close()
    two.close()


def test_postgres_errors_are_storage_errors_without_the_password() -> None:
    pytest.importorskip("psycopg")
    from monitor._storage._postgres import PostgresStorage

    with pytest.raises(
        StorageError, match=r"postgresql://u:\*\*\*@127\.0\.0\.1:1/x\?\S*: cannot use"
    ):
        PostgresStorage("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2")


def test_postgres_reconnects_after_the_server_drops_the_connection(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import psycopg

    from tests.pg import pg_dsn

    request.getfixturevalue("pg_schema_dsn")
    s = open_backend("postgres", tmp_path, request)
    s.sync_feeds([FEED])
    store(s, [NewItem(entry("a"), (hit(),))])
    pid = s.conn.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(str(pg_dsn()), autocommit=True) as admin:  # as a restart would
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StorageError):  # the call that meets the dropped connection fails …
        s.hits()
    assert len(s.hits()) == 1  # … and the next one reconnects; nothing was lost
    store(s, [NewItem(entry("b"), (hit(),))])
    assert len(s.hits()) == 2
    s.close()


def test_postgres_schema_is_versioned_migrated_and_a_newer_one_refused(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from monitor._storage._pg_schema import SCHEMA_VERSION

    request.getfixturevalue("pg_schema_dsn")
    s = open_backend("postgres", tmp_path, request)
    s.sync_feeds([FEED])
    # back to version 1, as the first release of this backend left a database
    s.conn.execute(  # type: ignore[attr-defined]
        "ALTER TABLE feeds DROP COLUMN next_poll, DROP COLUMN lease_until, DROP COLUMN lease_owner"
    )
    s.conn.execute("UPDATE monitor_schema SET version = 1")  # type: ignore[attr-defined]
    s.close()
    again = open_backend("postgres", tmp_path, request)
    version = again.conn.execute("SELECT version FROM monitor_schema").fetchone()  # type: ignore[attr-defined]
    assert version == {"version": SCHEMA_VERSION}
    assert again.feed_state(FEED.url).name == FEED.name
    again.conn.execute("UPDATE monitor_schema SET version = 99")  # type: ignore[attr-defined]
    again.close()
    with pytest.raises(StorageError, match="schema version 99 is newer than this monitor"):
        open_backend("postgres", tmp_path, request)


def test_a_topic_state_update_can_read_only_the_keys_it_needs(storage: Store) -> None:
    # A state's JSON is megabytes at the tracker's limits; a save that only compares
    # revisions (one daemon per SQLite file) need not parse it every five minutes.
    storage.update_topic_states(["t"], lambda _t, _s: {"revision": 4, "df": {"a": 1}}, NOW)
    seen: list[dict[str, Any] | None] = []

    def update(_topic: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        seen.append(stored)
        return {"revision": 5, "df": {"a": 2}}

    storage.update_topic_states(["t", "new"], update, NOW, only=("revision",))
    assert seen == [{"revision": 4}, None]
    assert storage.topic_state("t") == {"revision": 5, "df": {"a": 2}}


def test_topic_states_are_stored_as_compact_json(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Rewritten every five minutes, megabytes each at the tracker's limits: no spaces.
    s = open_backend(backend, tmp_path, request)
    s.update_topic_states(["u"], lambda _t, _s: {"n": 1, "df": {"a b": 2}}, NOW)
    s.save_topic_states({"v": {"n": 2, "pool": [1, 2]}}, NOW)
    conn: Any = s.conn  # type: ignore[attr-defined]
    rows = conn.execute("SELECT topic, state FROM topic_state ORDER BY topic").fetchall()
    s.close()
    texts = [row[1] if backend == "sqlite" else row["state"] for row in rows]
    assert texts == ['{"n":1,"df":{"a b":2}}', '{"n":2,"pool":[1,2]}']


def test_a_feeds_items_are_indexed_by_publication_time(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The adaptive pace counts a feed's recent items on every poll (``entry_frequency``) and
    # the feeds' rhythms every few minutes: without the index each reads the feed's whole
    # history, which on PostgreSQL (no retention) grows for as long as the monitor runs.
    s = open_backend(backend, tmp_path, request)
    conn: Any = s.conn  # type: ignore[attr-defined]
    if backend == "sqlite":
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'items'").fetchall()
        definitions = [row[0] or "" for row in rows]
    else:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'items' "
            "AND schemaname = current_schema()"
        ).fetchall()
        definitions = [row["indexdef"] for row in rows]
    s.close()
    assert any("(feed_id, published)" in d for d in definitions), definitions


def test_an_item_is_found_by_its_link_written_another_way(storage: Store) -> None:
    """A user pastes the link from a browser: https where the feed said http, the host in
    capitals, tracking parameters gone or added, a trailing slash. It names the same item."""
    tracked = Entry(
        "id:t1", "Tracked", "S", "http://news.example/world/story-1?utm_source=rss&id=7", NOW, "f1"
    )
    store(storage, [NewItem(tracked, ()), NewItem(entry("story-1", "Other path"), ())])
    for written in (
        "https://news.example/world/story-1?id=7",
        "HTTP://NEWS.EXAMPLE/world/story-1?id=7&utm_medium=social#comments",
        "https://news.example/world/story-1/?id=7",
    ):
        found = storage.find_item(written)
        assert found is not None and found["title"] == "Tracked", written
    assert storage.find_item("https://news.example/world/story-1?id=8") is None  # another page
    # a feed that marks its links as its own (Al Jazeera's ?traffic_source=rss)
    marked = Entry("id:m1", "Marked", "S", "https://aj.example/news/m-1?traffic_source=rss",
                   NOW, "fm")  # fmt: skip
    store(storage, [NewItem(marked, ())])
    found = storage.find_item("https://aj.example/news/m-1")
    assert found is not None and found["title"] == "Marked"
    assert storage.find_item("https://other.example/world/story-1?id=7") is None


def test_items_named_by_the_user_feedback_and_the_recent_stream(storage: Store) -> None:
    [hid] = store(storage, [NewItem(entry("a", "Hit"), (hit(),)), NewItem(entry("b", "No"), ())])
    found = storage.find_item(hid)
    assert found is not None and (found["title"], found["topic"]) == ("Hit", "t")
    by_link = storage.find_item("http://x/b")
    assert by_link is not None and by_link["title"] == "No"
    by_id = storage.find_item(str(by_link["id"]))
    assert by_id is not None and by_id["link"] == "http://x/b"
    assert storage.find_item("hit_none") is None and storage.find_item("http://none") is None
    [explained] = storage.item_hits(found["id"])
    assert explained["id"] == hid and explained["matched"] == [
        ["phrase:coalition of the willing", 0.5]
    ]

    first = storage.add_feedback("t", by_link, True, NOW)
    assert storage.add_feedback("t", by_link, False, NOW) == first  # replaced, same row
    for _ in range(5):  # a judge link clicked again and again: numbers are not used up
        storage.add_feedback("t", by_link, False, NOW)
    assert storage.add_feedback("u", found, True, NOW) == first + 1
    rows = storage.feedback()
    assert [(r["topic"], r["title"], r["relevant"]) for r in rows] == [
        ("t", "No", False),
        ("u", "Hit", True),
    ]
    assert [r["title"] for r in storage.feedback("u")] == ["Hit"]
    assert storage.remove_feedback(f"fb_{first}") == 1
    assert storage.remove_feedback(hid, topic="t") == 0
    second = int(storage.feedback("u")[0]["id"])
    assert storage.remove_feedback(hid) == 1
    assert storage.feedback() == []
    # an id is never given again: a retried `feedback --remove fb_N` must not remove a newer
    # judgement that took the number of the one it removed
    assert storage.add_feedback("t", found, True, NOW) > second
    # plain items are written before hits in a poll: "No" has the lower id
    assert [r["title"] for r in storage.recent_items(5)] == ["No", "Hit"]
    assert [r["title"] for r in storage.recent_items(1)] == ["Hit"]


def test_a_link_in_two_feeds_names_the_copy_that_hit(storage: Store) -> None:
    """Two feeds carry one article (a World and a Europe feed of one outlet, a feed moved in
    the config). The link a user pastes from an alert must name the copy that hit, and a
    judgement made by link must be removable by that link once a newer copy is stored."""
    store(storage, [NewItem(entry("x", "Chiefs meet"), (hit(),), story_id="sx")])
    found = storage.find_item("http://x/x")
    assert found is not None
    storage.add_feedback("t", found, False, NOW)
    later = Entry("id:x", "Chiefs meet", "Summary", "http://x/x", NOW, "f")
    store(storage, [NewItem(later, (miss(),))], feed=OTHER, now=NOW + timedelta(hours=1))
    again = storage.find_item("http://x/x")
    assert again is not None and again["id"] == found["id"] and again["hit_topics"] == 1
    assert storage.remove_feedback("http://x/x") == 1


def test_retention_deletes_what_expired_on_both_backends(storage: Store) -> None:
    """`keep_items` / `keep_hits` were SQLite's alone: PostgreSQL refused them at start, and a
    fleet's database grew for ever. Old items and delivered hits go, a hit still owed an alert
    stays, each feed's latest items stay, and an undated item's key keeps it out."""
    old = NOW - timedelta(days=30)
    dated = [
        Entry(f"id:k{n}", f"Old {n}", "S", f"http://x/k{n}", old, f"fp-k{n}") for n in range(5)
    ]
    undated = Entry("id:undated", "Undated", "S", "http://x/u", None, "fp-u")
    sent = Entry("id:sent", "Sent", "S", "http://x/s", old, "fp-s")
    owed = Entry("id:owed", "Owed", "S", "http://x/o", old, "fp-o")
    store(storage, [NewItem(e, (miss(),)) for e in [*dated, undated]], now=old)
    store(storage, [NewItem(sent, (hit(),))], now=old, etag='"e2"')
    for d in storage.due_deliveries(NOW, CHANNELS, limit=100):
        storage.record_delivery(d.id, NOW)
    store(storage, [NewItem(owed, (hit(),))], now=old, etag='"e3"')  # its alerts still pending
    store(storage, [NewItem(entry("new"), (miss(),))], etag='"e4"')
    cutoff = NOW - timedelta(days=7)
    total = (0, 0)
    while (batch := storage.expire(items_before=cutoff, hits_before=cutoff, limit=2,
                                   keep_latest=1)) != (0, 0):  # fmt: skip
        total = (total[0] + batch[0], total[1] + batch[1])
    assert total == (7, 1)  # five dated, the undated one and the sent hit's item; one hit
    assert [h["title"] for h in storage.hits()] == ["Owed"]
    state = storage.feed_state(FEED.url)
    keys, _ = storage.known_entries(state, [*dated, undated, sent, owed, entry("new")])
    assert set(keys) == {"id:owed", "id:new"}
    assert storage.expired_keys(state, [undated, dated[0]]) == {"id:undated"}


def test_a_delivery_number_is_never_given_to_another_hit(storage: Store) -> None:
    """`deliveries` shows numbers that `redeliver N` takes. SQLite gave the number of the
    newest delivery again once retention had deleted it (a quiet topic's last hits expire),
    so a `redeliver 1` read off an older listing acted on another hit."""
    old = NOW - timedelta(days=30)
    store(storage, [NewItem(entry("a"), (hit(),))], now=old)
    for d in storage.due_deliveries(NOW, CHANNELS, limit=100):
        storage.record_delivery(d.id, NOW)
    before = {r["id"] for r in storage.deliveries_report()}
    while storage.expire(items_before=NOW, hits_before=NOW, limit=10, keep_latest=0) != (0, 0):
        pass
    assert storage.hits() == [] and storage.deliveries_report() == []
    store(storage, [NewItem(entry("b"), (hit(),))], etag='"e2"')
    after = {r["id"] for r in storage.deliveries_report()}
    assert after and not after & before


def test_postgres_claims_feed_health_alerts_once_across_workers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A feed's health change was sent by every worker of a fleet (each deliverer read the
    due rows without claiming them): three workers, three identical webhooks and mails."""
    request.getfixturevalue("pg_schema_dsn")
    one = open_backend("postgres", tmp_path, request)
    two = open_backend("postgres", tmp_path, request)
    one.sync_feeds([FEED])
    ident = one.record_health(
        FEED.url, "Test feed", "gone", title="gone", detail="HTTP 410", now=NOW,
        channels=["webhook", "email"],
    )  # fmt: skip
    a = one.due_health_deliveries(NOW, ["webhook", "email"])
    b = two.due_health_deliveries(NOW, ["webhook", "email"])
    assert len(a) == 2 and b == []  # no row handed to both workers
    assert {d.alert.id for d in a} == {ident} and all(d.event for d in a)
    # a worker that dies mid-send: its rows fall due again when the lease runs out
    later = NOW + timedelta(minutes=5)
    assert {d.id for d in two.due_health_deliveries(later, ["webhook", "email"])} == {
        d.id for d in a
    }
    one.close()
    two.close()
