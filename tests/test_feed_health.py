"""Feed health changes (issue 13): judged like `monitor feeds`, recorded once per change,
logged, and with ``[alerts] feed_health = true`` alerted through the outbox: a real webhook
receiver and a real feed server on 127.0.0.1, both storage backends."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import _daemon
from monitor._config import load_config
from monitor._health import FAILING_AFTER, health_state
from monitor._healthwatch import check_health
from monitor._storage import Storage, Store
from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config
from tests.receivers import WebhookReceiver
from tests.test_expired_hits import Backend, make_backend
from tests.test_storage_contract import FEED, NOW, backend, open_backend  # noqa: F401

# -- the pure rule ---------------------------------------------------------------------------


def test_health_state_settles_before_it_changes() -> None:
    def state(status: str | None, errors: int, health: str) -> str | None:
        return health_state(status=status, error_count=errors, health=health)

    assert state("ok", 0, "ok") == "ok"
    assert state("ok", 0, "silent 6d (usually every 1h)") == "silent"
    assert state("error", 1, "failing: 1 poll in a row") is None  # not yet failing
    assert state("error", FAILING_AFTER, "failing: 5 polls in a row") == "failing"
    assert state("gone", 1, "gone") == "gone"
    assert state("ok", 0, "paused") is None


# -- storage: once per change, its alert in the outbox -------------------------------------


def test_a_change_is_recorded_once_with_its_deliveries(
    backend: str,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    storage: Store = open_backend(backend, tmp_path, request)
    try:
        kw = dict(title="feed 'x' is silent 3d", detail="silent 3d (usually every 1h)")
        first = storage.record_health(
            FEED.url, "x", "silent", now=NOW, channels=["webhook", "email"], **kw
        )
        assert first is not None and first.startswith("health_")
        again = storage.record_health(FEED.url, "x", "silent", now=NOW, channels=["webhook"], **kw)
        assert again is None  # already its state: nothing recorded, nothing queued
        assert storage.health_states() == {FEED.url: "silent"}
        due = storage.due_health_deliveries(NOW, ["webhook"])
        assert [(d.channel, d.event, d.alert.id, d.alert.kind) for d in due] == [
            ("webhook", True, first, "feed_health")
        ]
        assert due[0].alert.title == "feed 'x' is silent 3d"
        retry = NOW + timedelta(minutes=5)
        storage.record_health_delivery(due[0].id, NOW, error="HTTP 500", retry_at=retry)
        assert storage.due_health_deliveries(NOW, ["webhook"]) == []
        assert storage.next_health_attempt(["webhook"]) == retry
        storage.record_health_delivery(due[0].id, retry)  # delivered
        assert storage.due_health_deliveries(retry, ["webhook"]) == []
        assert len(storage.due_health_deliveries(NOW, ["email"])) == 1
        back = storage.record_health(
            FEED.url, "x", "ok", title="back", detail="ok", now=NOW, channels=[]
        )
        assert back is not None and storage.health_states() == {FEED.url: "ok"}
        events = storage.health_events()
        assert [(e["state"], e["previous"]) for e in events] == [("ok", "silent"), ("silent", "ok")]
    finally:
        storage.close()


# -- failing N polls: through the same watch -------------------------------------------------


def test_failing_polls_are_recorded_once_and_alerted_only_when_asked(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.url("/broken")
    config = load_config(write_config(tmp_path, [url]))
    storage = Storage(tmp_path / "monitor.db")
    try:
        storage.sync_feeds(config.feeds)
        for _ in range(FAILING_AFTER):
            storage.record_failure(storage.feed_state(url), NOW, "HTTP 500", retry_until=None)
        [change] = check_health(config, storage, NOW, channels=["webhook"])
        assert check_health(config, storage, NOW, channels=["webhook"]) == []  # once
        [event] = storage.health_events()
        assert event["state"] == "failing" and "last error: HTTP 500" in event["detail"]
        assert storage.due_health_deliveries(NOW, ["webhook"]) == []  # feed_health is off
    finally:
        storage.close()
    assert change == event["id"]


# -- end to end: a silent feed, the log, the webhook, and back -------------------------------


def test_a_silent_feed_is_logged_once_and_alerted_once_then_back(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    hourly = [
        {
            "title": f"Harbour report {n}",
            "link": f"https://e.test/{n}",
            "published": now - timedelta(days=3, hours=n),
        }
        for n in range(5)
    ]
    feed_server.add("/quiet", rss(hourly))
    path = write_config(tmp_path, [feed_server.url("/quiet")], webhook=webhook_receiver)
    text = path.read_text().replace(
        "[alerts.webhook]", "[alerts]\nfeed_health = true\n[alerts.webhook]"
    )
    path.write_text(text)
    config = load_config(path)
    assert config.feed_health

    with caplog.at_level(logging.INFO, logger="monitor"):
        asyncio.run(_daemon.run_once(config))
        [silent] = webhook_receiver.wait_for(1)
        asyncio.run(_daemon.run_once(config))  # still silent: no second alert, no second line
    warnings = [r for r in caplog.records if "is silent" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert silent.json["type"] == "monitor.feed_health"
    assert silent.json["topic"] == "feed-health"
    assert "is silent 3d (usually every 1h)" in silent.json["title"]
    assert silent.signature_ok is True
    assert len(webhook_receiver.received) == 1

    fresh = {"title": "Harbour reopens", "link": "https://e.test/new", "published": now}
    feed_server.add("/quiet", rss([fresh, *hourly]))
    asyncio.run(_daemon.run_once(config))
    back = webhook_receiver.wait_for(2)[1]
    assert back.json["type"] == "monitor.feed_health"
    assert "healthy again (was silent)" in back.json["title"]
    assert back.headers["webhook-id"] != silent.headers["webhook-id"]

    # the CLI shows health alerts beside the hits' and sends one again by its id
    capsys.readouterr()
    assert cli(path, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    health = [r for r in rows if str(r["hit_id"]).startswith("health_")]
    assert {r["hit_id"] for r in health} == {
        silent.headers["webhook-id"],
        back.headers["webhook-id"],
    }, rows
    assert all(r["status"] == "delivered" and r["title"] for r in health), health
    # numbered apart from the hits' rows: a number would name a hit's delivery to `redeliver`
    assert all(r["id"] is None for r in health), health
    assert cli(path, "redeliver", silent.headers["webhook-id"]) == 0
    asyncio.run(_daemon.run_once(config))
    again = webhook_receiver.wait_for(3)[2]
    assert again.headers["webhook-id"] == silent.headers["webhook-id"]


def test_a_health_alert_that_fails_is_retried_with_the_same_id(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """The outbox rules of hits hold for health alerts: a failed send waits for the retry
    schedule and goes again with the same webhook-id; delivered, it is not sent again."""
    url = feed_server.url("/down")
    feed_server.add_behaviour("/down", "status", status=503)
    path = write_config(tmp_path, [url], webhook=webhook_receiver)
    text = path.read_text().replace(
        "[alerts.webhook]",
        '[alerts]\nfeed_health = true\nretry_schedule = ["1s"]\n[alerts.webhook]',
    )
    path.write_text(text)
    config = load_config(path)
    storage = Storage(tmp_path / "monitor.db")
    try:
        storage.sync_feeds(config.feeds)
        now = datetime.now(UTC)
        for _ in range(FAILING_AFTER):  # five failed polls, as the poller records them
            storage.record_failure(storage.feed_state(url), now, "HTTP 503", retry_until=None)
        storage.record_failure(
            storage.feed_state(url), now, "HTTP 503", retry_until=now + timedelta(hours=1)
        )
    finally:
        storage.close()
    webhook_receiver.fail_next(1)
    asyncio.run(_daemon.run_once(config))  # /down waits (backoff); the watch sees it failing
    [first] = webhook_receiver.wait_for(1)
    assert first.json["type"] == "monitor.feed_health" and "failing" in first.json["title"]
    time.sleep(1.1)
    asyncio.run(_daemon.run_once(config))
    second = webhook_receiver.wait_for(2)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    asyncio.run(_daemon.run_once(config))
    time.sleep(0.2)
    assert len(webhook_receiver.received) == 2
    assert feed_server.count("/down") == 0  # never asked during its backoff


def test_a_feed_silent_for_longer_than_the_rhythm_window_stays_silent(
    backend: str,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The rhythm is measured on a feed's latest items, however old: a feed that last
    published four months ago is silent, not "ok" because its items fell out of a 90-day
    window (which also sent a false "healthy again" alert)."""
    from monitor._cli_health import add_health
    from monitor._models import Entry
    from monitor._storage import NewItem
    from tests.test_storage_contract import store

    storage = open_backend(backend, tmp_path, request)
    try:
        storage.sync_feeds([FEED])
        last = NOW - timedelta(days=120)
        items = [
            NewItem(
                Entry(
                    f"id:{n}",
                    f"Report {n}",
                    "S",
                    f"http://x/{n}",
                    last - timedelta(hours=n),
                    f"fp{n}",
                ),
                (),
            )
            for n in range(6)
        ]
        store(storage, items)
        [row] = add_health(storage, storage.feeds_report(), NOW)
        assert row["health"] == "silent 120d (usually every 1h)", row["health"]
    finally:
        storage.close()


# -- a feed never polled -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return make_backend(request.param, request, tmp_path, monkeypatch)


def test_a_feed_never_polled_reads_not_polled_yet(
    tmp_path: Path, db: Backend, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """It read "ok", as a feed polled and healthy does."""
    feed_server.add("/f.xml", rss([{"title": "Tide table", "link": "https://e.test/t"}]))
    feed_server.add("/g.xml", rss([{"title": "Harbour news", "link": "https://e.test/h"}]))
    config = db.point(write_config(tmp_path, [feed_server.url("/f.xml")]))

    def health() -> dict[str, str]:
        capsys.readouterr()
        assert cli(config, "feeds", "--format", "json") == 0
        return {row["url"]: row["health"] for row in json.loads(capsys.readouterr().out)}

    assert health() == {feed_server.url("/f.xml"): "not polled yet"}  # before any database
    assert cli(config, "once") == 0
    assert cli(config, "feeds", "add", feed_server.url("/g.xml")) == 0
    assert health() == {
        feed_server.url("/f.xml"): "ok",
        feed_server.url("/g.xml"): "not polled yet",
    }
    # nor is it a state the health watch records (it would read as "healthy again")
    assert health_state(status=None, error_count=0, health="not polled yet") is None


def test_a_dead_feed_stays_silent_after_keep_items_deleted_its_old_items(
    tmp_path: Path, db: Backend, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its rhythm is read from its latest items: retention keeps each feed's newest three, so
    it still reads silent (and how long), and what it still lists is not taken in again."""
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    items = [
        {"title": f"Tide table {n}", "link": f"https://e.test/t{n}", "guid": f"t-{n}",
         "published": last - timedelta(hours=n)}
        for n in range(6)
    ]  # fmt: skip
    feed_server.add("/dead.xml", rss(items))
    config = db.point(write_config(tmp_path, [feed_server.url("/dead.xml")]))
    assert cli(config, "once") == 0
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[[topics]]", 'keep_items = "90d"\n[[topics]]', 1))
    db.age()  # their first sight long ago too
    feed_server.add("/dead.xml", rss(items) + b"\n")  # a new body: parsed again, not 'unchanged'
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "search", "tide", "--format", "json") == 0
    kept = {r["title"] for r in json.loads(capsys.readouterr().out)}
    assert kept == {"Tide table 0", "Tide table 1", "Tide table 2"}
    assert cli(config, "feeds", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["health"] == "silent 200d (usually every 1h)", row
    assert row["items_seen"] == 6, row  # the deleted ones, still listed, not taken in again
