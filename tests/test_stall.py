"""One slow channel cannot stall the daemon (issue 11): an SMTP server that drips its reply
forever (always under the socket timeout) neither delays webhooks nor polls nor shutdown, and
each mail attempt ends at its total deadline."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.helpers import (
    DATA,
    cli,
    load_items,
    serve_items,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.receivers import SmtpServer, StallingSmtp, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


@pytest.fixture
def dripping_smtp() -> Iterator[StallingSmtp]:
    server = StallingSmtp("drip", drip=0.2)
    try:
        yield server
    finally:
        server.close()


def _config(tmp_path: Path, urls: list[str], hook: WebhookReceiver, smtp: StallingSmtp,
            email_timeout: str) -> Path:  # fmt: skip
    email = "\n".join(
        [
            "[alerts.email]",
            'host = "127.0.0.1"',
            f"port = {smtp.port}",
            'tls = "none"',
            'sender = "monitor@example.org"',
            'recipients = ["desk@example.org"]',
            f'timeout = "{email_timeout}"',
        ]
    )
    return write_config(tmp_path, urls, webhook=hook, extra=email)


def test_dripping_smtp_delays_neither_webhooks_nor_shutdown(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    dripping_smtp: StallingSmtp,
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = _config(tmp_path, list(urls.values()), webhook_receiver, dripping_smtp, "60s")
    proc = start_daemon(config)
    try:
        received = webhook_receiver.wait_for(len(ON_TOPIC), timeout=15)
        assert {r.json["title"] for r in received} == ON_TOPIC
        assert dripping_smtp.connections >= 1  # mail was being tried meanwhile
    finally:
        began = time.monotonic()
        err = stop_daemon(proc, timeout=30)
        took = time.monotonic() - began
    assert proc.returncode == 0, err
    assert took < 5, f"SIGTERM took {took:.1f} s"
    assert "Traceback" not in err


def test_once_ends_each_mail_attempt_at_its_deadline(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    dripping_smtp: StallingSmtp,
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = _config(tmp_path, list(urls.values()), webhook_receiver, dripping_smtp, "1s")
    began = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "once"],
            capture_output=True,
            text=True,
            timeout=40,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`monitor once` did not end within 40 s behind a dripping SMTP server")
    took = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    assert took < 20, f"once took {took:.1f} s"
    assert {r.json["title"] for r in webhook_receiver.received} == ON_TOPIC
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        rows = db.execute(
            "SELECT status, last_error FROM deliveries WHERE channel = 'email'"
        ).fetchall()
    db.close()
    assert len(rows) == len(ON_TOPIC)
    # every mail still pending (retried later), none delivered; those tried say why
    assert {status for status, _ in rows} == {"pending"}
    assert any(error and "deadline" in error for _, error in rows), json.dumps(rows)


def test_a_temporarily_refused_recipient_still_gets_the_alert(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpServer
) -> None:
    """At least once per recipient: a 450 for one of two recipients is not "delivered"; the
    alert is sent again (same Message-ID) until that recipient has it too."""
    urls = serve_items(feed_server, ITEMS)
    email = "\n".join(
        [
            "[alerts]",
            'retry_schedule = ["1s", "1s", "1s"]',
            "[alerts.email]",
            'host = "127.0.0.1"',
            f"port = {smtp_server.port}",
            'tls = "none"',
            'sender = "monitor@example.org"',
            'recipients = ["desk@example.org", "busy@example.org"]',
        ]
    )
    config = write_config(tmp_path, list(urls.values()), extra=email)
    smtp_server.refuse_recipient("busy@example.org", times=len(ON_TOPIC))
    assert cli(config, "once") == 0
    time.sleep(1.2)
    assert cli(config, "once") == 0
    got: dict[str, set[str]] = {}
    for mail in smtp_server.messages:
        for rcpt in mail.rcpt_tos:
            got.setdefault(rcpt, set()).add(mail.message["Message-ID"])
    assert len(got.get("busy@example.org", set())) == len(ON_TOPIC)
    assert got["busy@example.org"] == got["desk@example.org"]  # the same ids
    # and only the recipient still owed the alert gets the retry: no copy for the other
    desk = [m for m in smtp_server.messages if "desk@example.org" in m.rcpt_tos]
    assert len(desk) == len(ON_TOPIC)


def test_a_recipient_refused_for_good_is_a_failed_delivery_not_a_silent_one(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 550 for one of two recipients was recorded as "delivered", with no error: that
    recipient never got the alert and nothing but a log line said so. Now the delivery is
    failed, names the refused recipient, and `redeliver` sends to that recipient only."""
    urls = serve_items(feed_server, ITEMS)
    email = "\n".join(
        [
            "[alerts.email]",
            'host = "127.0.0.1"',
            f"port = {smtp_server.port}",
            'tls = "none"',
            'sender = "monitor@example.org"',
            'recipients = ["desk@example.org", "boss@example.org"]',
        ]
    )
    config = write_config(tmp_path, list(urls.values()), extra=email)
    smtp_server.refuse_recipient("boss@example.org", times=len(ON_TOPIC), code=550)
    assert cli(config, "once") == 0
    assert cli(config, "once") == 0  # nothing is retried on its own: the refusal is for good
    desk = [m for m in smtp_server.messages if "desk@example.org" in m.rcpt_tos]
    assert len(desk) == len(ON_TOPIC)
    assert not any("boss@example.org" in m.rcpt_tos for m in smtp_server.messages)
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(ON_TOPIC)
    for row in rows:
        assert row["status"] == "failed", row
        assert "boss@example.org" in row["last_error"] and "550" in row["last_error"]
    assert cli(config, "redeliver", str(rows[0]["id"])) == 0
    assert cli(config, "once") == 0
    again = smtp_server.messages[len(desk) :]
    assert [m.rcpt_tos for m in again] == [["boss@example.org"]]  # the one still owed it
