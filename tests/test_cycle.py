"""The whole path, for real: loopback feeds → `monitor once` → SQLite → signed webhook + email."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, START, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def hits_json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json", *args) == 0
    return json.loads(capsys.readouterr().out)


def deliveries_json(config: Path, capsys: pytest.CaptureFixture[str], status: str) -> list[dict]:
    capsys.readouterr()
    assert cli(config, "deliveries", "--status", status, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_one_cycle_alerts_each_on_topic_item_once(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()), webhook=webhook_receiver, smtp=smtp_server)
    assert cli(config, "once") == 0

    hooks = webhook_receiver.received
    assert {r.json["title"] for r in hooks} == ON_TOPIC
    assert len(hooks) == len(ON_TOPIC)  # exactly once each
    assert all(r.signature_ok for r in hooks)
    assert all(r.headers["webhook-id"] == r.json["id"] for r in hooks)
    for field in (
        "id",
        "topic",
        "score",
        "title",
        "link",
        "feed",
        "published",
        "detected_at",
        "matched",
    ):
        assert all(field in r.json for r in hooks), field
    assert all(r.json["matched"] for r in hooks)  # every alert says why
    mails = smtp_server.wait_for(len(ON_TOPIC))
    assert {m.message["Subject"].split("] ", 1)[1] for m in mails} == ON_TOPIC

    hits = hits_json(config, capsys)
    assert {h["title"] for h in hits} == ON_TOPIC
    for field in ("title", "link", "score", "topic", "feed", "published", "detected_at"):
        assert all(h[field] is not None for h in hits), field

    # a second cycle sends conditional requests and alerts nothing
    before = len(feed_server.requests)
    assert cli(config, "once") == 0
    again = feed_server.requests[before:]
    assert again and all("if-none-match" in {k.lower() for k in h} for _, h in again)
    assert len(webhook_receiver.received) == len(ON_TOPIC)
    assert len(smtp_server.messages) == len(ON_TOPIC)

    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    feeds = json.loads(capsys.readouterr().out)
    assert {f["last_status"] for f in feeds} == {"not-modified"}

    # the server's validators change, the bytes do not (a CDN redeploy, a file rewritten):
    # the new ones are kept, so the next cycle is conditional again (304, no body)
    for path, body in [(urlsplit(u).path, feed_server._route(urlsplit(u).path).body)
                       for u in urls.values()]:  # fmt: skip
        feed_server.add(path, body, etag='"redeployed"')
    assert cli(config, "once") == 0
    before = len(feed_server.requests)
    assert cli(config, "once") == 0
    again = feed_server.requests[before:]
    assert again and all(h.get("if-none-match") == '"redeployed"' for _, h in again)
    assert sum(f["items_seen"] for f in feeds) == len(ITEMS)


def test_the_adaptation_learns_on_the_poll_clock(tmp_path: Path, feed_server: FeedServer) -> None:
    """The trackers' clock (which ages the adaptation pool) is the poll's time, not the
    items' publication times (March 2025 here), and is saved with the topic's state."""
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    before = time.time()
    assert cli(config, "once") == 0
    db = sqlite3.connect(tmp_path / "monitor.db")
    ((state,),) = db.execute("SELECT state FROM topic_state").fetchall()
    db.close()
    assert before <= json.loads(state)["clock"] <= time.time()


def test_new_edited_and_republished_items(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    story = next(i for i in ITEMS if i["label"] == 2)
    first = {
        "title": story["title"],
        "summary": story["summary"],
        "link": "https://n.example/1",
        "guid": "g1",
        "published": START,
    }
    feed_server.add("/f.xml", rss([first]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 1
    edited = dict(first, summary=first["summary"] + " Updated with more detail.")
    republished = dict(first, link="https://n.example/2?utm_source=x", guid="g2")
    feed_server.add("/f.xml", rss([republished, edited]))
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 1  # neither the edit nor the copy alerts again
    db = sqlite3.connect(tmp_path / "monitor.db")
    assert db.execute("select count(*) from items").fetchone()[0] == 2
    assert (
        db.execute("select count(*) from items where duplicate_of is not null").fetchone()[0] == 1
    )
    assert (
        db.execute("select summary from items where key = 'id:g1'")
        .fetchone()[0]
        .endswith("more detail.")
    )


def test_an_item_edited_into_the_topic_alerts_once(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A feed rewrites an item that was no hit (a live page retitled as the story breaks):
    the new text is judged, and it alerts once; later edits of it alert no more."""
    story = next(i for i in ITEMS if i["label"] == 2)
    lead = "Follow our live coverage of the day's events as they unfold."
    first = {
        "title": "Live: the day's events",
        "summary": lead,
        "link": "https://n.example/live",
        "guid": "live",
        "published": START,
    }
    feed_server.add("/f.xml", rss([first]))
    config = write_config(tmp_path, [feed_server.url("/f.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    assert webhook_receiver.received == []
    assert hits_json(config, capsys) == []

    edited = dict(first, title=story["title"], summary=f"{lead} {story['summary']}")
    feed_server.add("/f.xml", rss([edited]))
    assert cli(config, "once") == 0
    assert [r.json["title"] for r in webhook_receiver.received] == [story["title"]]
    assert [h["title"] for h in hits_json(config, capsys)] == [story["title"]]

    again = dict(edited, summary=edited["summary"] + " Updated with more detail.")
    feed_server.add("/f.xml", rss([again]))
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 1  # an edit of a hit does not alert again
    assert len(hits_json(config, capsys)) == 1
    db = sqlite3.connect(tmp_path / "monitor.db")
    assert db.execute("select count(*) from items").fetchone()[0] == 1
    db.close()


def test_receiver_fails_then_recovers_nothing_lost_nothing_doubled(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(
        tmp_path,
        list(urls.values()),
        webhook=webhook_receiver,
        smtp=smtp_server,
        extra='[alerts]\nretry_schedule = ["1s", "1s"]',
    )
    webhook_receiver.refuse()
    smtp_server.reject_next(100, code=451)
    assert cli(config, "once") == 0
    assert webhook_receiver.received == [] and smtp_server.messages == []
    pending = deliveries_json(config, capsys, "pending")
    assert len(pending) == 2 * len(ON_TOPIC)
    assert all(p["attempts"] == 1 and p["last_error"] for p in pending)

    webhook_receiver.accept()
    webhook_receiver.fail_next(2, status=500)
    smtp_server.reject_next(0)
    time.sleep(1.1)
    assert cli(config, "once") == 0  # two webhooks fail with 500 and wait for their retry
    time.sleep(1.1)
    assert cli(config, "once") == 0
    received = webhook_receiver.received  # each once, plus the two answered with a 500
    assert len(received) == len(ON_TOPIC) + 2
    assert {r.json["title"] for r in received} == ON_TOPIC
    assert len({r.headers["webhook-id"] for r in received}) == len(ON_TOPIC)
    assert len(smtp_server.wait_for(len(ON_TOPIC))) == len(ON_TOPIC)
    assert len(deliveries_json(config, capsys, "delivered")) == 2 * len(ON_TOPIC)


def test_webhook_gives_up_after_the_schedule_and_redeliver_sends_again(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    story = [i for i in ITEMS if i["label"] == 2][:1]
    urls = serve_items(feed_server, story)
    config = write_config(
        tmp_path,
        list(urls.values()),
        webhook=webhook_receiver,
        extra='[alerts]\nretry_schedule = ["0s"]',
    )
    webhook_receiver.respond_with(500)
    assert cli(config, "once") == 0  # first attempt fails, retry due at once
    assert cli(config, "once") == 0  # the retry fails: no retries left
    (failed,) = deliveries_json(config, capsys, "failed")
    assert failed["attempts"] == 2
    webhook_receiver.respond_with(200)
    assert cli(config, "redeliver", failed["hit_id"]) == 0
    assert cli(config, "once") == 0
    received = webhook_receiver.received
    assert len(received) == 3 and len({r.headers["webhook-id"] for r in received}) == 1
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 3  # delivered now: not sent again
    assert cli(config, "redeliver", failed["hit_id"]) == 0  # a delivered one, once more
    (again,) = deliveries_json(config, capsys, "pending")
    assert again["delivered_at"] is None and again["attempts"] == 0, again


def test_webhook_410_disables_the_endpoint(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, [i for i in ITEMS if i["label"] == 2])
    config = write_config(tmp_path, list(urls.values()), webhook=webhook_receiver)
    webhook_receiver.respond_with(410)
    assert cli(config, "once") == 0
    sent = len(webhook_receiver.received)  # at most the requests already in flight
    assert 1 <= sent <= len(ON_TOPIC)
    assert caplog.text.count("410 Gone") == 1 and "disabled" in caplog.text
    webhook_receiver.respond_with(204)
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == sent  # the channel stays disabled
    waiting = deliveries_json(config, capsys, "pending")
    assert len(waiting) == len(ON_TOPIC)  # kept, not dropped, and `deliveries` says why
    assert {r["waits_for"] for r in waiting} == {"the channel, disabled after a 410 Gone"}
    assert {r["next_attempt"] for r in waiting} == {None}
    capsys.readouterr()  # redelivering says the channel holds them, rather than "within 5 s"
    assert cli(config, "redeliver", waiting[0]["hit_id"]) == 0
    out = capsys.readouterr().out
    assert "queued 1 delivery again" in out and "channel webhook is disabled" in out, out
    receiver2 = WebhookReceiver(secret=webhook_receiver.secret)
    try:
        config = write_config(tmp_path, list(urls.values()), webhook=receiver2)
        assert cli(config, "once") == 0  # pointed elsewhere: the channel works again
        assert {r.json["title"] for r in receiver2.received} == ON_TOPIC
    finally:
        receiver2.close()


def test_alerts_waiting_on_a_channel_the_config_dropped_are_reported_and_kept(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A channel taken out of the config leaves its pending alerts in the outbox: the start
    says how many wait and on which channel (else a backlog that never drains, unexplained);
    configured again, they are its own again."""
    urls = list(serve_items(feed_server, [i for i in ITEMS if i["label"] == 2]).values())
    retry = '[alerts]\nretry_schedule = ["1h"]'  # a failed attempt waits an hour
    config = write_config(tmp_path, urls, webhook=webhook_receiver, extra=retry)
    webhook_receiver.respond_with(503)
    assert cli(config, "once") == 0  # first attempts fail: the alerts stay pending
    assert "the config no longer has" not in caplog.text
    caplog.clear()
    config = write_config(tmp_path, urls, extra=retry)  # the webhook taken out
    assert cli(config, "once") == 0
    warned = [r for r in caplog.records if "the config no longer has" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelname == "WARNING"
    assert f"{len(ON_TOPIC)} alerts wait on channel=webhook" in warned[0].getMessage()
    waiting = deliveries_json(config, capsys, "pending")
    assert len(waiting) == len(ON_TOPIC)  # kept, not dropped
    assert {r["waits_for"] for r in waiting} == {"the channel, not in the config"}
    caplog.clear()
    config = write_config(tmp_path, urls, webhook=webhook_receiver, extra=retry)
    assert cli(config, "once") == 0  # configured again: the alerts are its own again
    assert "the config no longer has" not in caplog.text
    waiting = deliveries_json(config, capsys, "pending")
    assert len(waiting) == len(ON_TOPIC)  # due in an hour
    assert {r["waits_for"] for r in waiting} == {"the retry"}


def test_bad_feeds_beside_good_ones(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    feed_server.add(
        "/html", b"<html><body><p>Not a feed</p></body></html>", content_type="text/html"
    )
    feed_server.add("/garbage", bytes(range(256)) * 8, content_type="application/xml")
    feed_server.add(
        "/broken",
        rss([{"title": "Kept", "summary": "s", "link": "http://k/1"}])[:-30]
        + b"<item><title>&bogus;</titl",
    )
    feed_server.add_behaviour("/500", "status", status=500)
    feed_server.add_behaviour("/gone", "status", status=410)
    feed_server.add_behaviour("/busy", "status", status=503, headers={"Retry-After": "3600"})
    bad = {
        p: feed_server.url(p) for p in ("/html", "/garbage", "/broken", "/500", "/gone", "/busy")
    }
    config = write_config(tmp_path, [*bad.values(), *urls.values()], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    assert {r.json["title"] for r in webhook_receiver.received} == ON_TOPIC
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    feeds = {f["url"]: f for f in json.loads(capsys.readouterr().out)}
    for path in ("/html", "/garbage", "/500", "/busy"):
        assert feeds[bad[path]]["last_status"] == "error", path
        assert feeds[bad[path]]["last_error"], path
        assert feeds[bad[path]]["error_count"] == 1
    assert feeds[bad["/gone"]]["last_status"] == "gone"
    assert feeds[bad["/broken"]]["items_seen"] >= 1  # what could be read was kept
    assert feeds[bad["/busy"]]["retry_until"] > "2026"  # Retry-After honoured

    counts = {p: feed_server.count(p) for p in ("/gone", "/busy", "/500")}
    assert cli(config, "once") == 0  # Retry-After, backoff and 410 are honoured by `once`
    assert {p: feed_server.count(p) for p in counts} == counts


def test_header_injection_in_a_title_adds_no_header(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
) -> None:
    story = next(i for i in ITEMS if i["label"] == 2)
    evil = story["title"] + "\r\nBcc: victim@example.org\r\nX-Evil: 1"
    feed_server.add(
        "/f.xml",
        rss(
            [
                {
                    "title": evil,
                    "summary": story["summary"] + " <script>x</script>",
                    "link": "https://n.example/1",
                }
            ]
        ),
    )
    config = write_config(tmp_path, [feed_server.url("/f.xml")], smtp=smtp_server)
    assert cli(config, "once") == 0
    (mail,) = smtp_server.wait_for(1)
    assert mail.message["Bcc"] is None and mail.message["X-Evil"] is None
    assert mail.rcpt_tos == ["desk@example.org"]
    assert story["title"] in mail.message["Subject"]


def test_classify_prints_one_line_per_item(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, [])
    items = tmp_path / "items.jsonl"
    items.write_text(
        "\n".join(
            json.dumps({k: i[k] for k in ("title", "summary", "feed")} | {"link": f"https://x/{n}"})
            for n, i in enumerate(ITEMS)
        )
        + '\nnot json\n"a string"\n'
    )
    capsys.readouterr()
    assert cli(config, "classify", str(items)) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(ITEMS) + 2
    for item, result in zip(ITEMS, out, strict=False):
        assert result["hit"] is (item["label"] == 2), item["title"]
        assert isinstance(result["score"], float) and 0 <= result["score"] <= 1
        assert result["topic"] == ("paris-coalition" if result["hit"] else None)
    assert all(o["error"] and o["hit"] is False for o in out[-2:])  # not JSON, not an object
    assert not (tmp_path / "monitor.db").exists()  # classify touches no database


# One agency report as three outlets rewrite it.
WIRE_COPIES = [
    (
        "Military chiefs from 30 countries meet in Paris to plan Ukraine security force",
        "Army chiefs from some 30 countries gathered in Paris to work on a European-led force "
        "that would help guarantee a ceasefire in Ukraine, without US participation.",
    ),
    (
        "Army chiefs of 30 nations gather in Paris to plan a security force for Ukraine",
        "Military chiefs from around 30 countries met in Paris on Tuesday to discuss a "
        "European-led force to guarantee a future ceasefire in Ukraine; the US did not take part.",
    ),
    (
        "Around 30 countries' military chiefs meet in Paris on Ukraine security force",
        "Chiefs of staff from about 30 countries met in Paris to plan a force, led by Europeans, "
        "that would guarantee a ceasefire in Ukraine. The United States was not represented.",
    ),
]


def test_wire_copies_across_feeds_alert_once(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    background = [i for i in ITEMS if i["label"] == 0]
    urls = []
    for n, (title, summary) in enumerate(WIRE_COPIES):
        entries = [
            {
                "title": title,
                "summary": summary,
                "link": f"https://outlet{n}.example/norway",
                "guid": f"o{n}",
                "published": START.replace(hour=9 + n),
            }
        ]
        entries += [
            {
                "title": b["title"],
                "summary": b["summary"],
                "link": f"https://outlet{n}.example/{k}",
                "guid": f"o{n}-{k}",
                "published": START,
            }
            for k, b in enumerate(background)
        ]
        path = f"/outlet{n}.xml"
        feed_server.add(path, rss(entries))
        urls.append(feed_server.url(path))
    config = write_config(tmp_path, urls, webhook=webhook_receiver)
    assert cli(config, "once") == 0

    hits = hits_json(config, capsys)
    assert sorted(h["title"] for h in hits) == sorted(t for t, _ in WIRE_COPIES)
    assert len({h["story_id"] for h in hits}) == 1  # one story
    assert sum(h["alerted"] for h in hits) == 1
    [hook] = webhook_receiver.received  # one alert, carrying the story id
    assert hook.json["story_id"] == hits[0]["story_id"]

    # `redeliver` on a copy that was never alerted says so and names the story's alert
    later = next(h for h in hits if not h["alerted"])
    [alerted] = [h["id"] for h in hits if h["alerted"]]
    capsys.readouterr()
    assert cli(config, "redeliver", later["id"]) == 1
    err = capsys.readouterr().err
    assert f"{later['id']} was not alerted" in err and f"monitor redeliver {alerted}" in err, err
    assert cli(config, "redeliver", alerted) == 0
    assert cli(config, "once") == 0
    assert len(webhook_receiver.wait_for(2)) == 2


def test_a_renamed_topic_is_reported_at_start(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Renaming a topic in the config strands what it learnt under the old name: each start
    says so, naming the old topic, rather than letting it start afresh in silence."""
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0
    assert "no longer has" not in caplog.text
    config.write_text(config.read_text().replace('"paris-coalition"', '"paris"'))
    assert cli(config, "once") == 0
    warned = [r for r in caplog.records if "which the config no longer has" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelname == "WARNING"
    assert "'paris-coalition'" in warned[0].getMessage()
