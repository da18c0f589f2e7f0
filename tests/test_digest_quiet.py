"""Digest quiet hours (``[alerts.email] quiet_hours``): the pure decision, the config, and a
digest held through the window then sent once after it; real SMTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._alerts import EmailSender
from monitor._config import EmailConfig, load_config
from monitor._digest import DigestDeliverer
from monitor._digest_plan import digest_due, may_send, next_slot
from monitor._digest_quiet import in_window, parse_window, quiet_until
from monitor._errors import ConfigError
from monitor._storage import open_store
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer

ITEMS = load_items(DATA / "clear_items.jsonl")


def email(**kw: object) -> EmailConfig:
    return EmailConfig("h", 25, "none", "a@b.c", ("d@e.f",), mode="digest", **kw)  # type: ignore[arg-type]


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def test_windows_are_parsed_and_may_wrap_past_midnight() -> None:
    assert parse_window("22:00-07:00") == ("22:00", "07:00")
    assert parse_window(" 9:30 - 12:00") == ("09:30", "12:00")
    for bad in ("22:00", "22-07", "24:00-07:00", "07:00-07:00", "7:5-8:00"):
        with pytest.raises(ValueError):
            parse_window(bad)
    night = ("22:00", "07:00")
    assert [in_window(t, night) for t in ("21:59", "22:00", "03:00", "06:59", "07:00")] == [
        False, True, True, True, False,
    ]  # fmt: skip
    assert in_window("12:00", ("12:00", "13:00")) and not in_window("13:00", ("12:00", "13:00"))


def test_quiet_until_is_the_end_of_the_window_on_the_local_clock() -> None:
    night = ("22:00", "07:00")
    assert quiet_until(utc(11, 21, 59), night, "UTC") is None
    assert quiet_until(utc(11, 22), night, "UTC") == utc(12, 7)
    assert quiet_until(utc(12, 3), night, "UTC") == utc(12, 7)
    assert quiet_until(utc(12, 7), night, "UTC") is None
    assert quiet_until(utc(12, 3), None, "UTC") is None
    # Paris, the night daylight saving starts (Sunday 30 March 2025): 22:00 CET is 21:00
    # UTC, 07:00 CEST is 05:00 UTC
    assert quiet_until(utc(29, 21), night, "Europe/Paris") == utc(30, 5)
    assert quiet_until(utc(29, 20, 59), night, "Europe/Paris") is None


def test_slots_skip_the_quiet_hours_and_what_waits_goes_out_after_them() -> None:
    at = email(digest_at=("06:00", "12:00", "23:00"), quiet_hours=("22:00", "07:00"))
    # 06:00 and 23:00 are quiet: after 12:00 the next digest is the next day's 12:00
    assert next_slot(utc(11, 12), at) == utc(12, 12)
    assert next_slot(utc(11, 1), at) == utc(11, 12)
    hourly = email(digest_every=3600.0, quiet_hours=("22:00", "07:00"))
    assert next_slot(utc(11, 20), hourly) == utc(11, 21)
    assert next_slot(utc(11, 21, 30), hourly) == utc(12, 7)  # 22:30 is quiet: at its end
    # the due time: nothing waits → None; a failed send's retry inside the window → its end
    assert digest_due(None, None, None, hourly) is None
    assert digest_due(utc(11, 20), None, None, hourly) == utc(11, 21)
    assert digest_due(utc(11, 20), None, utc(11, 23), hourly) == utc(12, 7)
    assert digest_due(utc(11, 20), utc(11, 21), None, hourly) == utc(11, 22) + timedelta(hours=9)
    # sent only when due and outside the window, whatever the caller's due time says
    assert may_send(utc(12, 7), utc(12, 7), hourly)
    assert not may_send(utc(12, 6, 59), utc(11, 21), hourly)
    assert not may_send(utc(11, 20), utc(11, 21), hourly)
    assert not may_send(utc(11, 20), None, hourly)


def test_quiet_hours_are_checked(tmp_path: Path) -> None:
    base = '[alerts.email]\nhost = "h"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\n'
    ok = write_config(tmp_path, [], extra=base + 'mode = "digest"\nquiet_hours = "22:00-7:00"')
    cfg = load_config(ok).email
    assert cfg is not None and cfg.quiet_hours == ("22:00", "07:00")
    for extra, message in (
        ('quiet_hours = "22:00-07:00"', 'quiet_hours: applies to mode = "digest" only'),
        # a digest time without the mode was ignored: one mail per hit, no word of why
        ('digest_at = ["08:00"]', 'digest_at: applies to mode = "digest" only'),
        ('digest_every = "1h"', 'digest_every: applies to mode = "digest" only'),
        ('mode = "each"\ntimezone = "Europe/Paris"', 'timezone: applies to mode = "digest"'),
        ('mode = "digest"\nquiet_hours = "late"', "quiet_hours: expected a window such as"),
        ('mode = "digest"\nquiet_hours = "07:00-07:00"', "quiet_hours: expected a window"),
        (
            'mode = "digest"\ndigest_at = ["23:00", "06:30"]\nquiet_hours = "22:00-07:00"',
            "quiet_hours: every digest_at time falls inside it",
        ),
    ):
        bad = write_config(tmp_path, [], extra=base + extra)
        with pytest.raises(ConfigError, match=rf"{bad}: alerts\.email\.{message}"):
            load_config(bad)


def window_around(now: datetime) -> str:
    """A quiet window (UTC) from an hour before ``now`` to an hour after it."""
    return f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"


def pending_email(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'pending'"
        ).fetchone()
    db.close()
    return int(count)


def test_no_digest_inside_the_window_then_everything_once_after_it(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    now = datetime.now(UTC)
    window = window_around(now)

    def configure(feeds: list[str]) -> Path:
        return write_config(
            tmp_path,
            feeds,
            extra=(
                '[alerts]\nretry_schedule = ["0s"]\n[alerts.email]\nhost = "127.0.0.1"\n'
                f'port = {smtp_server.port}\ntls = "none"\nsender = "monitor@example.org"\n'
                'recipients = ["desk@example.org"]\nmode = "digest"\ndigest_every = "1s"\n'
                f'quiet_hours = "{window}"'
            ),
        )

    config = configure([urls["europe"]])
    assert cli(config, "once") == 0
    first = pending_email(tmp_path)
    assert first >= 1
    time.sleep(1.2)  # the 1 s slot has passed, but it falls in the quiet hours
    assert cli(config, "once") == 0
    config = configure([urls["europe"], urls["world"]])  # more hits arrive meanwhile
    assert cli(config, "once") == 0
    time.sleep(1.2)
    assert cli(config, "once") == 0
    time.sleep(0.3)
    assert smtp_server.messages == []
    waiting = pending_email(tmp_path)
    assert waiting > first

    # The window's end (an hour from now): the digest deliverer, on the real database and the
    # real SMTP server, at moments the test chooses.
    loaded = load_config(config)
    assert loaded.email is not None
    end = quiet_until(now, loaded.email.quiet_hours, loaded.email.timezone)
    assert end is not None and end - now < timedelta(hours=1, minutes=1)
    storage = open_store(loaded)
    try:
        digest = DigestDeliverer(
            storage, EmailSender(loaded.email), loaded.email, loaded.retry_schedule
        )
        assert digest.due_at() == end  # the first digest after the window
        assert asyncio.run(digest.deliver_if_due(end - timedelta(seconds=1))) == 0
        assert asyncio.run(digest.deliver_if_due(end)) == waiting
        assert asyncio.run(digest.deliver_if_due(end + timedelta(hours=2))) == 0
    finally:
        storage.close()
    (mail,) = smtp_server.wait_for(1)
    assert mail.message["Subject"].startswith(f"[monitor] {waiting} new hits")
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    assert {row["status"] for row in json.loads(capsys.readouterr().out)} == {"delivered"}
    assert cli(config, "once") == 0  # nothing left, nothing twice
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1
