"""Clock faults (issue 11): a run with the clock a year ahead stored waits a year out
(feeds' retry_until, alerts' next_attempt). Each stored wait is clamped to its own length
from now, so alerts go out and feeds are polled again once the clock is right."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

from monitor._times import parse_iso, utcnow
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}
FMT = "'%Y-%m-%dT%H:%M:%fZ'"


def test_waits_stored_under_a_clock_a_year_ahead_are_clamped(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    urls = serve_items(feed_server, ITEMS)
    feed_server.add_behaviour("/down", "status", status=500)
    config = write_config(
        tmp_path,
        [*urls.values(), feed_server.url("/down")],
        webhook=webhook_receiver,
        extra='[alerts]\nretry_schedule = ["1s", "1s", "1s"]',
    )
    webhook_receiver.refuse()
    assert cli(config, "once") == 0  # alerts pending after one failed attempt, /down failed
    # What the same run would have stored with the clock a year ahead:
    db = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
    year = "'+1 year'"
    db.execute(
        f"UPDATE feeds SET last_polled = strftime({FMT}, last_polled, {year}), "
        f"retry_until = strftime({FMT}, retry_until, {year})"
    )
    db.execute(
        f"UPDATE deliveries SET last_attempt = strftime({FMT}, last_attempt, {year}), "
        f"next_attempt = strftime({FMT}, next_attempt, {year})"
    )
    db.close()
    feed_server.add("/down", rss([{"title": "back", "link": "https://e.test/back"}]))
    webhook_receiver.accept()

    assert cli(config, "once") == 0  # the clock is right again
    time.sleep(1.2)
    assert cli(config, "once") == 0
    assert {r.json["title"] for r in webhook_receiver.received} == ON_TOPIC
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        ((retry_until, last_polled),) = db.execute(
            "SELECT retry_until, last_polled FROM feeds WHERE url LIKE '%/down'"
        ).fetchall()
    db.close()
    now = utcnow()
    until, polled = parse_iso(retry_until), parse_iso(last_polled)
    assert until is not None and polled is not None
    assert until <= now + timedelta(minutes=1)  # its own length (the 1 min backoff), not a year
    assert polled <= now
