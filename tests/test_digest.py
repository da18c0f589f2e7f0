"""Email digests through the outbox: one message per slot for every pending hit, grouped by
topic, nothing lost when the server refuses, nothing sent twice; real SMTP on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._config import EmailConfig, load_config
from monitor._digest_plan import digest_id, next_slot
from monitor._errors import ConfigError
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def email(**kw: object) -> EmailConfig:
    return EmailConfig("h", 25, "none", "a@b.c", ("d@e.f",), **kw)  # type: ignore[arg-type]


def test_next_slot_local_times_across_dst() -> None:
    paris = email(mode="digest", digest_at=("08:00", "18:00"), timezone="Europe/Paris")
    # Saturday 29 March 2025, 09:00 in Paris (CET, UTC+1): next is 18:00 CET = 17:00 UTC
    assert next_slot(datetime(2025, 3, 29, 8, 0, tzinfo=UTC), paris) == datetime(
        2025, 3, 29, 17, 0, tzinfo=UTC
    )
    # after 18:00: Sunday 08:00, now CEST (UTC+2) = 06:00 UTC
    assert next_slot(datetime(2025, 3, 29, 17, 0, tzinfo=UTC), paris) == datetime(
        2025, 3, 30, 6, 0, tzinfo=UTC
    )
    hourly = email(mode="digest", digest_every=3600.0)
    moment = datetime(2025, 3, 29, 8, 30, tzinfo=UTC)
    assert next_slot(moment, hourly) == datetime(2025, 3, 29, 9, 30, tzinfo=UTC)


def digest_config(tmp_path: Path, urls: list[str], smtp: SmtpServer, every: str) -> Path:
    return write_config(
        tmp_path,
        urls,
        extra=(
            '[alerts]\nretry_schedule = ["0s"]\n[alerts.email]\nhost = "127.0.0.1"\n'
            f'port = {smtp.port}\ntls = "none"\nsender = "monitor@example.org"\n'
            f'recipients = ["desk@example.org"]\nmode = "digest"\ndigest_every = "{every}"'
        ),
    )


def statuses(config: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    return sorted(row["status"] for row in json.loads(capsys.readouterr().out))


def test_digest_sends_one_message_per_slot_through_the_outbox(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "2s")
    assert cli(config, "once") == 0
    assert smtp_server.messages == []  # queued, not sent: the slot is 2 s after the hits
    assert statuses(config, capsys) == ["pending"] * len(ON_TOPIC)

    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (first,) = db.execute("SELECT min(detected_at) FROM hits").fetchone()
    db.close()
    due = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp() + 2.0
    capsys.readouterr()  # `deliveries` tells when the digest carries them, not the queue time
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["waits_for"] for r in rows} == {"the digest"}
    assert {datetime.fromisoformat(r["next_attempt"]).timestamp() for r in rows} == {due}
    time.sleep(max(0.0, due - time.time() + 0.2))  # the slot: 2 s after the first hit
    smtp_server.reject_next(1, code=451)  # the server refuses the first try: all kept
    assert cli(config, "once") == 0
    assert smtp_server.messages == []
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 1)}
    assert all("451" in r["last_error"] for r in rows)
    assert cli(config, "once") == 0  # the retry ("0s") is due: one message with every hit
    (mail,) = smtp_server.wait_for(1)
    subject = mail.message["Subject"]
    assert subject == f"[monitor] {len(ON_TOPIC)} new hits: paris-coalition ({len(ON_TOPIC)})"
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert "== paris-coalition ==" in text
    for title in ON_TOPIC:
        assert title in text and title.replace("'", "&#x27;") in html
    assert mail.message["Message-ID"].startswith("<digest_")
    assert statuses(config, capsys) == ["delivered"] * len(ON_TOPIC)
    capsys.readouterr()  # each hit's id is there for `monitor feedback`, and how to use it
    assert cli(config, "hits", "--format", "json") == 0
    for hit in json.loads(capsys.readouterr().out):
        assert hit["id"] in text and hit["id"] in html
    assert "monitor feedback HIT_ID --irrelevant" in text

    assert cli(config, "once") == 0
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1  # nothing twice


def test_digest_config_is_checked(tmp_path: Path) -> None:
    base = '[alerts.email]\nhost = "h"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\nmode = "digest"\n'
    ok = write_config(
        tmp_path, [], extra=base + 'digest_at = ["07:30", "19:00"]\ntimezone = "Europe/Paris"'
    )
    cfg = load_config(ok).email
    assert cfg is not None and cfg.digest_at == ("07:30", "19:00") and cfg.mode == "digest"
    # an hour written with one digit is that hour: sorted as a time, not as text ("8:00"
    # after "18:00" held a morning's hits until 18:00, an evening's until the next 18:00)
    short = write_config(tmp_path, [], extra=base + 'digest_at = ["18:00", "8:00"]')
    cfg = load_config(short).email
    assert cfg is not None and cfg.digest_at == ("08:00", "18:00")
    morning = datetime(2025, 3, 11, 7, 0, tzinfo=UTC)
    assert next_slot(morning, cfg) == datetime(2025, 3, 11, 8, 0, tzinfo=UTC)
    unsorted = email(mode="digest", digest_at=("18:00", "08:00"))  # built by hand
    assert next_slot(morning, unsorted) == datetime(2025, 3, 11, 8, 0, tzinfo=UTC)
    one = write_config(tmp_path, [], extra=base + 'digest_at = "8:00"')  # one time, not a list
    cfg = load_config(one).email
    assert cfg is not None and cfg.digest_at == ("08:00",)
    for extra, message in (
        ('mode = "weekly"', 'mode: expected "each" or "digest"'),
        ('digest_at = ["25:00"]', "digest_at: expected times such as"),
        ('digest_at = ["8:5"]', "digest_at: expected times such as"),  # 08:05 or 08:50?
        ('digest_at = ["\u00b2:00"]', "digest_at: expected times such as"),  # was a traceback
        ('quiet_hours = "\u00b22:00-07:00"', "quiet_hours: expected"),
        ('digest_at = ["\uff11\uff18:00"]', "digest_at: expected times such as"),
        ('digest_at = ["008:00"]', "digest_at: expected times such as"),
        ("digest_at = []", "digest_at: expected at least one time"),  # was 08:00, unsaid
        ('timezone = "Mars/Olympus"', "timezone: expected a time zone"),
        ('digest_at = ["08:00"]\ndigest_every = "1h"', "give only one of digest_at, digest_every"),
    ):
        text = base.replace('mode = "digest"\n', "") + extra
        if "mode" not in extra:
            text += '\nmode = "digest"'
        bad = write_config(tmp_path, [], extra=text)
        with pytest.raises(ConfigError, match=rf"alerts\.email\..*{message[:20]}"):
            load_config(bad)


def test_running_daemon_sends_the_digest_at_its_slot(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "2s")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        (mail,) = smtp_server.wait_for(1, timeout=30)
        time.sleep(2.5)  # a later slot: nothing new, no second message
        assert len(smtp_server.messages) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "digest digest_" in err and f"{len(ON_TOPIC)} hits" in err
    assert "channels=email (digest)" in err  # the only channel: not "none"
    text = mail.message.get_body(("plain",)).get_content()
    assert all(title in text for title in ON_TOPIC)


def test_a_digest_cut_off_by_a_crash_goes_again_as_it_was(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """The daemon dies after the server kept the digest but before it said so: the digest
    goes again, the same hits under the same Message-ID (the receiver can tell a resend), and
    what arrived meanwhile goes in the next one. It went as one new message of everything."""
    on = [i for i in ITEMS if i["label"] == 2]
    first, later = [*on[:3], *(i for i in ITEMS if i["label"] != 2)], on[3:]
    urls = serve_items(feed_server, first)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    smtp_server.hold_answers(30)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        (kept,) = smtp_server.wait_for(1, timeout=30)
    finally:
        proc.kill()
        proc.wait(10)
    smtp_server.hold_answers(0)
    serve_items(feed_server, first + later)  # new hits while the daemon was down
    assert cli(config, "once") == 0
    resent = smtp_server.wait_for(2)[1]
    assert resent.message["Message-ID"] == kept.message["Message-ID"]
    assert (
        resent.message.get_body(("plain",)).get_content()
        == kept.message.get_body(("plain",)).get_content()
    )
    time.sleep(1.2)  # the next slot
    assert cli(config, "once") == 0
    third = smtp_server.wait_for(3)[2]
    assert third.message["Message-ID"] != kept.message["Message-ID"]
    text = third.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in later if i["label"] == 2)
    assert not any(i["title"] in text for i in first if i["label"] == 2)


def test_alerts_left_by_single_mails_go_in_one_digest(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """Rows left pending by mails sent one per hit (each tried at its own moment) and then
    taken over by a digest went one per slot, a day each with a daily digest."""
    urls = serve_items(feed_server, ITEMS)
    each = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    text = each.read_text().replace('mode = "digest"\ndigest_every = "1s"', 'mode = "each"')
    each.write_text(text.replace('retry_schedule = ["0s"]', 'retry_schedule = ["1s", "1h"]'))
    smtp_server.reject_next(len(ON_TOPIC), code=451)
    assert cli(each, "once") == 0
    assert smtp_server.messages == []
    digest = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")  # now a digest
    digest.write_text(digest.read_text().replace('["0s"]', '["1s", "1h"]'))
    time.sleep(1.2)  # the rows' retry is due, and the slot
    assert cli(tmp_path / "config.toml", "once") == 0
    (mail,) = smtp_server.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    assert all(title in text for title in ON_TOPIC)


def test_hits_after_a_refused_digest_wait_for_the_next_slot(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """A refused digest is retried on the retry schedule, alone; hits that came meanwhile go
    in the digest after it. They went at once, before the retry, as another digest."""
    on = [i for i in ITEMS if i["label"] == 2]
    first, later = [*on[:3], *(i for i in ITEMS if i["label"] != 2)], on[3:]
    urls = serve_items(feed_server, first)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "2s")
    config.write_text(config.read_text().replace('["0s"]', '["2s", "2s"]'))
    assert cli(config, "once") == 0
    time.sleep(2.2)  # the slot
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # refused: retried in 2 s
    serve_items(feed_server, first + later)
    assert cli(config, "once") == 0  # the new hits are stored, and wait
    time.sleep(0.5)
    assert smtp_server.messages == []
    time.sleep(1.8)
    assert cli(config, "once") == 0  # the retry: the refused digest, as it was
    (retried,) = smtp_server.wait_for(1)
    text = retried.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in on[:3]) and not any(i["title"] in text for i in later)
    time.sleep(2.2)  # the next slot, from the digest just sent
    assert cli(config, "once") == 0
    second = smtp_server.wait_for(2)[1]
    text = second.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in later) and not any(i["title"] in text for i in on[:3])


def test_a_refused_digest_goes_again_when_newer_hits_are_due_before_it(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retry read the first rows due (at most 1,000, here 3) and looked for the tried
    digest among them: hits stored after the refusal are due before its retry, so fewer of its
    rows were read than it holds, and no digest, nor any email, went out again."""
    monkeypatch.setattr("monitor._digest.BATCH", 3)
    on = [i for i in ITEMS if i["label"] == 2]
    first, later = [*on[:3], *(i for i in ITEMS if i["label"] != 2)], on[3:]
    urls = serve_items(feed_server, first)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    config.write_text(config.read_text().replace('["0s"]', '["2s", "2s"]'))
    assert cli(config, "once") == 0
    time.sleep(1.2)  # the slot
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # the digest of three refused: retried in 2 s
    serve_items(feed_server, first + later)
    assert cli(config, "once") == 0  # new hits, due before the retry
    time.sleep(2.2)
    assert cli(config, "once") == 0  # the retry
    (retried,) = smtp_server.wait_for(1)
    text = retried.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in on[:3]) and not any(i["title"] in text for i in later)
    time.sleep(1.2)
    assert cli(config, "once") == 0
    second = smtp_server.wait_for(2)[1]
    text = second.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in later[:3])


def test_a_digest_that_fails_for_good_is_an_error(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The last attempt of a digest was logged as every retry (a warning), so a lost digest
    never reached an error-level alert; single mails say "failed for good"."""
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    assert cli(config, "once") == 0
    time.sleep(1.2)
    smtp_server.reject_next(2, code=451)
    with caplog.at_level("WARNING", logger="monitor"):
        assert cli(config, "once") == 0  # refused: retried at once (retry_schedule ["0s"])
        assert cli(config, "once") == 0  # refused again: no retry left
    levels = [(r.levelname, r.getMessage()) for r in caplog.records if "digest" in r.getMessage()]
    assert levels[0][0] == "WARNING" and levels[-1][0] == "ERROR", levels
    assert "failed for good after 2 attempts" in levels[-1][1]
    caplog.clear()
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    assert cli(config, "redeliver", json.loads(capsys.readouterr().out)[0]["id"]) == 0
    smtp_server.reject_next(1, code=554)  # refused for good at once
    time.sleep(1.2)
    with caplog.at_level("WARNING", logger="monitor"):
        assert cli(config, "once") == 0
    said = [r.getMessage() for r in caplog.records if "for good" in r.getMessage()]
    assert said and "after 1 attempt:" in said[-1], said  # not "1 attempts"
    from monitor._digest_plan import digest_message
    from monitor._models import Alert

    now = datetime.now(UTC)
    alert = Alert("hit_1", "t", 0.9, "Title", "", "https://e/1", "f", "https://e/f", None, now, ())
    one = digest_message([alert], email(), ident="digest_x", now=now)
    assert one["Subject"] == "[monitor] 1 new hit: t (1)"  # not "1 new hits"


def test_redeliver_says_when_a_digest_carries_the_alerts(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`redeliver` promised "within its outbox_poll (5 s)" for an alert a daily digest will
    carry."""
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1d")
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert cli(config, "redeliver", row["hit_id"]) == 0
    out = capsys.readouterr().out
    assert "email: in the next digest, at " in out and "outbox_poll" not in out, out


def test_a_digest_whose_hits_changed_goes_under_another_message_id(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`redeliver` of one hit of a refused digest takes it out of the digest: the retry
    carried the other hits under the Message-ID of all of them, so a receiver that had kept
    the first attempt and drops repeats lost them."""
    on = [i for i in ITEMS if i["label"] == 2]
    urls = serve_items(feed_server, [*on[:3], *(i for i in ITEMS if i["label"] != 2)])
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    config.write_text(config.read_text().replace('["0s"]', '["1s", "1h"]'))
    assert cli(config, "once") == 0
    time.sleep(1.2)
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # the digest of three refused
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    hit_ids = sorted(h["id"] for h in json.loads(capsys.readouterr().out))
    assert len(hit_ids) == 3
    assert cli(config, "redeliver", hit_ids[0]) == 0
    time.sleep(1.2)
    assert cli(config, "once") == 0  # the retry
    time.sleep(1.2)
    assert cli(config, "once") == 0  # the next slot
    first, second = smtp_server.wait_for(2)
    ids = {m.message["Message-ID"] for m in (first, second)}
    assert ids == {
        f"<{digest_id(hit_ids[1:])}@monitor>",
        f"<{digest_id(hit_ids[:1])}@monitor>",
    }, ids


def test_deliveries_tell_hits_behind_a_refused_digest_the_slot_after_it(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Hits stored while a refused digest waits for its retry go in the slot after it, but
    `deliveries` and `redeliver` gave them the retry's time."""
    on = [i for i in ITEMS if i["label"] == 2]
    first, later = [*on[:3], *(i for i in ITEMS if i["label"] != 2)], on[3:]
    urls = serve_items(feed_server, first)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1h")
    config.write_text(config.read_text().replace('["0s"]', '["10m"]'))
    conn = sqlite3.connect(tmp_path / "monitor.db")
    assert cli(config, "once") == 0
    with conn:  # the slot has come
        conn.execute("UPDATE hits SET detected_at = '2020-01-01T00:00:00.000Z'")
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # refused: retried in 10 minutes
    serve_items(feed_server, first + later)
    assert cli(config, "once") == 0  # new hits: they wait for the slot after the retry
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    times = {r["digest"] is not None: datetime.fromisoformat(r["next_attempt"]) for r in rows}
    conn.close()
    assert len(rows) == len(on) and times[False] - times[True] == timedelta(hours=1), times
    assert cli(config, "redeliver", str(rows[-1]["id"])) == 0  # one of the refused digest
    out = capsys.readouterr().out
    assert f"in the next digest, at {times[False]:%Y-%m-%dT%H:%M:%S}" in out, out


def test_deliveries_never_give_a_digest_time_in_the_past(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Hits whose slot has passed (the daemon was down, or they were requeued after a digest
    failed for good) go in the next digest at once: `deliveries` and `redeliver` gave the
    passed slot, minutes or days ago."""
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1h")
    assert cli(config, "once") == 0
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        conn.execute("UPDATE hits SET detected_at = '2020-01-01T00:00:00.000Z'")
    conn.close()
    before = datetime.now(UTC)
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(datetime.fromisoformat(r["next_attempt"]) >= before for r in rows), rows
    assert cli(config, "redeliver", str(rows[0]["id"])) == 0
    shown = capsys.readouterr().out.split("in the next digest, at ")[1].split()[0]
    assert datetime.fromisoformat(shown) >= before, shown


def test_a_hit_requeued_while_its_digest_is_sent_goes_again(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """`redeliver` during a send: the digest's record marked the requeued row delivered too,
    and what `redeliver` had promised (the next digest) never came."""
    from monitor._storage import Storage

    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1h")
    assert cli(config, "once") == 0
    storage = Storage(tmp_path / "monitor.db")
    now = datetime.now(UTC)
    rows = storage.digest_deliveries("email", None, now, limit=None)
    ids = [d.id for d in rows]
    storage.mark_digest(ids, "digest_x")
    storage.requeue(str(ids[0]), now)  # while the digest is with the mail server
    storage.record_digest("digest_x", ids, now)
    left = storage.digest_deliveries("email", None, now + timedelta(seconds=1), limit=None)
    storage.close()
    assert [d.id for d in left] == [ids[0]]


def test_a_refused_digest_goes_again_whole_once(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """Rows tried apart before (single mails refused) and new ones, refused together as a
    digest, got retries by their own attempt counts: the digest went again as two mails
    under one Message-ID, and a receiver that drops repeats lost the second."""
    on = [i for i in ITEMS if i["label"] == 2]
    first, later = [*on[:3], *(i for i in ITEMS if i["label"] != 2)], on[3:]
    urls = serve_items(feed_server, first)
    each = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    text = each.read_text().replace('mode = "digest"\ndigest_every = "1s"', 'mode = "each"')
    each.write_text(text.replace('["0s"]', '["1s", "3s", "1h"]'))
    smtp_server.reject_next(3, code=451)
    assert cli(each, "once") == 0  # three single mails refused: attempts 1, retry in 1 s
    digest = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    digest.write_text(digest.read_text().replace('["0s"]', '["1s", "3s", "1h"]'))
    serve_items(feed_server, first + later)  # two more hits: attempts 0
    time.sleep(1.2)
    smtp_server.reject_next(1, code=451)
    assert cli(digest, "once") == 0  # the digest of five is refused
    time.sleep(1.3)
    assert cli(digest, "once") == 0
    time.sleep(2.0)
    assert cli(digest, "once") == 0
    (mail,) = smtp_server.wait_for(1)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1  # one mail, every hit
    text = mail.message.get_body(("plain",)).get_content()
    assert all(i["title"] in text for i in on)


def test_a_refused_digests_retry_in_the_quiet_hours_moves_to_their_end(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The retry of a refused digest was taken as it was stored, inside the quiet hours: the
    daemon looked every 50 ms until they ended, and `deliveries` showed a time inside them."""

    now = datetime.now(UTC)
    start, end = now + timedelta(minutes=30), now + timedelta(minutes=120)
    window = f"{start:%H:%M}-{end:%H:%M}"
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    text = config.read_text().replace('["0s"]', '["1h"]')
    config.write_text(text + f'\nquiet_hours = "{window}"')
    assert cli(config, "once") == 0
    time.sleep(1.2)
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # refused: retry in an hour, inside the quiet hours
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    shown = {datetime.fromisoformat(r["next_attempt"]) for r in rows}
    assert shown == {end.replace(second=0, microsecond=0)}, (shown, window)


def test_a_database_outage_is_logged_once_and_its_end_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While the database was away the digest loop logged an ERROR every 5 s (per worker: 51
    lines for a fleet of three over 85 s) and never said it was back; the other loops say it
    once, remind each minute and log when it answers again."""
    import asyncio
    import logging

    from monitor._alerts._email import EmailSender
    from monitor._digest import DigestDeliverer
    from monitor._errors import StorageError
    from monitor._storage import Storage

    class Away(Storage):
        """A real database that is away for its first reads (a restart)."""

        failures = 3
        answered = 0

        def tried_digest(self, channel: str) -> tuple[str, datetime | None, int] | None:
            if self.failures:
                self.failures -= 1
                raise StorageError(f"{self.path}: cannot use the database: connection refused")
            self.answered += 1
            return super().tried_digest(channel)

    storage = Away(tmp_path / "m.db")
    cfg = email(mode="digest", digest_every=3600.0)
    deliverer = DigestDeliverer(storage, EmailSender(cfg), cfg, (1.0,))
    caplog.set_level(logging.INFO)

    async def run_until_back() -> None:
        task = asyncio.create_task(deliverer.run())
        while not storage.answered:  # back after 0.5 + 1 + 2 s of backoff
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(run_until_back())
    storage.close()
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "digest" in r.getMessage()]
    assert [level for level, _ in said] == ["ERROR", "INFO"], said
    assert "digests paused" in said[0][1] and "digests resumed" in said[1][1]


def test_a_digest_refused_for_now_by_one_recipient_goes_again_to_that_one_only(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A digest that one recipient refused for now (4xx) went again to every recipient, so
    those who had it got it twice; single mails went again to the refused one only."""
    urls = serve_items(feed_server, ITEMS)
    config = digest_config(tmp_path, list(urls.values()), smtp_server, "1s")
    text = config.read_text().replace(
        'recipients = ["desk@example.org"]',
        'recipients = ["desk@example.org", "busy@example.org"]',
    )
    config.write_text(text)
    assert cli(config, "once") == 0
    time.sleep(1.2)  # the slot
    smtp_server.refuse_recipient("busy@example.org", times=1)
    assert cli(config, "once") == 0  # desk has it; busy is owed it
    assert [m.rcpt_tos for m in smtp_server.messages] == [["desk@example.org"]]
    assert statuses(config, capsys) == ["pending"] * len(ON_TOPIC)
    assert cli(config, "once") == 0  # the retry ("0s"): to busy alone, the same Message-ID
    mails = smtp_server.wait_for(2)
    assert [m.rcpt_tos for m in mails] == [["desk@example.org"], ["busy@example.org"]]
    assert mails[0].message["Message-ID"] == mails[1].message["Message-ID"]
    assert statuses(config, capsys) == ["delivered"] * len(ON_TOPIC)
