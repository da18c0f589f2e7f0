"""Identity (issue 11): what is one item, one story, one alert."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, START, TOY_THRESHOLD, cli, load_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = [i for i in ITEMS if i["label"] == 2]
OFF_TOPIC = [i for i in ITEMS if i["label"] == 0]


def _entries(items: list[dict[str, Any]], guid: str = "g") -> list[dict[str, Any]]:
    return [
        {
            "title": i["title"],
            "summary": i["summary"],
            "link": f"https://wire.example/{n}",
            "guid": f"{guid}{n}",
            "published": START + timedelta(minutes=n),
        }
        for n, i in enumerate(items)
    ]


def test_the_same_guid_in_two_feeds_alerts_once(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """BBC World and BBC Europe list the same items under the same GUIDs: one alert each."""
    entries = _entries(ITEMS)
    feed_server.add("/world.xml", rss(entries, title="World"))
    feed_server.add("/europe.xml", rss(entries, title="Europe"))
    urls = [feed_server.url("/world.xml"), feed_server.url("/europe.xml")]
    config = write_config(tmp_path, urls, webhook=webhook_receiver, threshold=TOY_THRESHOLD)
    assert cli(config, "once") == 0
    titles = [r.json["title"] for r in webhook_receiver.received]
    assert sorted(titles) == sorted(i["title"] for i in ON_TOPIC)
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        stories = db.execute(
            "SELECT story_id, sum(alerted), count(*) FROM hits GROUP BY story_id"
        ).fetchall()
    db.close()
    assert all(alerted == 1 and copies == 2 for _, alerted, copies in stories), stories


def test_a_new_story_under_a_recurring_title_is_scored(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """A live page ("Europe live") keeps its title and changes its story: a new link with the
    same title but another text is a new item, scored (not filed as a re-publication)."""
    off = OFF_TOPIC[0]
    on = ON_TOPIC[0]
    first = {"title": "Europe live", "summary": off["summary"], "link": "https://n.example/1",
             "guid": "live-1", "published": START}  # fmt: skip
    feed_server.add("/f.xml", rss([first]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    second = {"title": "Europe live", "summary": on["title"] + ". " + on["summary"],
              "link": "https://n.example/2", "guid": "live-2",
              "published": START + timedelta(hours=1)}  # fmt: skip
    feed_server.add("/f.xml", rss([second, first]))
    assert cli(config, "once") == 0
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (row,) = db.execute(
            "SELECT duplicate_of, score FROM items WHERE key = 'id:live-2'"
        ).fetchall()
    db.close()
    assert row[0] is None and row[1] is not None  # scored, not filed as a copy
    assert len(webhook_receiver.received) == 1


def test_an_edit_after_detection_does_not_rewrite_the_pending_alert(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """An alert carries what was judged, frozen at detection: an item edited (title, summary,
    link) while its alert waits in the outbox goes out as it was when it was judged."""
    on = ON_TOPIC[0]
    item = {"title": on["title"], "summary": on["summary"], "link": "https://n.example/real",
            "guid": "g1", "published": START}  # fmt: skip
    feed_server.add("/f.xml", rss([item]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)
    webhook_receiver.refuse()
    assert cli(config, "once") == 0  # the hit is stored, its alert pending
    edited = dict(item, title="Celebrity baking contest final",
                  summary="Click here", link="https://phish.example/login")  # fmt: skip
    feed_server.add("/f.xml", rss([edited]))
    webhook_receiver.accept()
    with sqlite3.connect(tmp_path / "monitor.db") as db:  # the retry is due now
        db.execute("UPDATE deliveries SET next_attempt = '2000-01-01T00:00:00.000Z'")
    db.close()
    assert cli(config, "once") == 0  # stores the edit, then sends the alert
    [hook] = webhook_receiver.received
    assert hook.json["title"] == on["title"]
    assert hook.json["link"] == "https://n.example/real"
    assert "Click here" not in hook.json["summary"]


def test_a_reused_guid_with_another_story_is_scored_as_new(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """A CMS that reuses GUIDs: the same GUID now carries a different story. Judged by its
    text, it is a new item (scored, alerted), not an edit of the old one; a real edit (the
    same story reworded a little) stays an edit."""
    off, on = OFF_TOPIC[0], ON_TOPIC[0]
    old = {"title": off["title"], "summary": off["summary"], "link": "https://n.example/1",
           "guid": "slot-1", "published": START}  # fmt: skip
    feed_server.add("/f.xml", rss([old]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    assert webhook_receiver.received == []
    reused = {"title": on["title"], "summary": on["summary"], "link": "https://n.example/2",
              "guid": "slot-1", "published": START + timedelta(hours=5)}  # fmt: skip
    feed_server.add("/f.xml", rss([reused]))
    assert cli(config, "once") == 0
    assert [r.json["title"] for r in webhook_receiver.received] == [on["title"]]
    edited = dict(reused, summary=on["summary"] + " Updated.")
    feed_server.add("/f.xml", rss([edited]))
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 1  # an edit never alerts again
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        titles = [row[0] for row in db.execute("SELECT title FROM items ORDER BY id")]
    db.close()
    assert titles == [off["title"], on["title"]]  # the old story's row is kept as it was


def test_stories_that_share_one_guid_in_one_body_are_all_taken_in(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    """A CMS that gives every item the site's address as GUID: the stories of one body share
    a key. The first of them was kept and the others dropped until the body changed (behind
    a 304, until the next story): each story is its own item, at once, and stays one."""
    stories = [*ON_TOPIC[:2], *OFF_TOPIC[:3]]
    entries = [dict(e, guid="https://publisher.example/") for e in _entries(stories)]
    feed_server.add("/f.xml", rss(entries))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)

    def titles() -> list[str]:
        with sqlite3.connect(tmp_path / "monitor.db") as db:
            found = sorted(row[0] for row in db.execute("SELECT title FROM items"))
        db.close()
        return found

    assert cli(config, "once") == 0
    assert titles() == sorted(s["title"] for s in stories)  # at once
    feed_server.add("/f.xml", rss(entries[::-1]))  # the body changes, the same stories
    assert cli(config, "once") == 0
    assert titles() == sorted(s["title"] for s in stories)  # and once each
    assert sorted(r.json["title"] for r in webhook_receiver.received) == sorted(
        s["title"] for s in ON_TOPIC[:2]
    )


def test_a_link_that_changes_on_every_poll_adds_no_row_per_poll(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """No GUID and a session parameter that differs on each request: every poll brought each
    story again under a new key, stored as a re-publication, a row per story per poll."""
    config = write_config(tmp_path, [feed_server.url("/f.xml")])
    for poll in range(4):
        entries = [
            {"title": s["title"], "summary": s["summary"],
             "link": f"https://n.example/{n}?sid={poll}x{n}", "published": START}
            for n, s in enumerate(OFF_TOPIC[:5])
        ]  # fmt: skip
        feed_server.add("/f.xml", rss(entries))
        assert cli(config, "once") == 0
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (rows,) = db.execute("SELECT count(*) FROM items").fetchone()
    db.close()
    assert rows <= 2 * 5  # each story, and at most one re-publication of it
