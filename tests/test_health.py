"""Feed health in `monitor feeds`: failing, silent for much longer than its own rhythm, ok,
paused; from real polls of loopback feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor._health import feed_health
from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def health(**changes: object) -> str:
    values: dict = dict(
        status="ok", error_count=0, paused=False, items=0, first=None, last=None, now=NOW
    )
    values.update(changes)
    return feed_health(**values)


def test_health_rules() -> None:
    assert health() == "ok"
    assert health(error_count=4) == "failing: 4 polls in a row"
    assert health(status="gone") == "gone"
    assert health(paused=True, error_count=2) == "paused"
    assert health(status=None) == "not polled yet"  # it read "ok"
    assert health(status=None, paused=True) == "paused"
    hourly = dict(items=25, first=NOW - timedelta(days=4), last=NOW - timedelta(days=3))
    assert health(**hourly) == "silent 3d (usually every 1h)"
    # long silences in days, whether or not the count divides by seven ("87w" beside "612d")
    for days in (609, 612, 14):
        quiet = dict(
            items=25, first=NOW - timedelta(days=days + 1), last=NOW - timedelta(days=days)
        )
        assert health(**quiet) == f"silent {days}d (usually every 1h)"
    weekly = dict(items=25, first=NOW - timedelta(days=170), last=NOW - timedelta(days=3))
    assert health(**weekly) == "ok"  # quiet for 3 days is normal for a weekly feed
    assert health(items=25, first=NOW - timedelta(hours=30), last=NOW - timedelta(hours=20)) == (
        "ok"  # every 25 min, quiet for 20 h: under the 2-day minimum
    )


def test_feeds_report_shows_health(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    fresh = [{"title": f"f{i}", "link": f"https://e/f{i}", "published": now - timedelta(hours=i)}
             for i in range(5)]  # fmt: skip
    stale = [{"title": f"s{i}", "link": f"https://e/s{i}",
              "published": now - timedelta(days=6, hours=i)} for i in range(10)]  # fmt: skip
    feed_server.add("/fresh.xml", rss(fresh))
    feed_server.add("/stale.xml", rss(stale))
    urls = [feed_server.url(p) for p in ("/fresh.xml", "/stale.xml", "/missing.xml", "/p.xml")]
    feed_server.add("/p.xml", rss(fresh))
    config = write_config(tmp_path, urls)
    assert cli(config, "once") == 0
    assert cli(config, "feeds", "pause", urls[3]) == 0
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    health = {r["url"].rsplit("/", 1)[1]: r["health"] for r in json.loads(capsys.readouterr().out)}
    assert health == {
        "fresh.xml": "ok",
        "stale.xml": "silent 6d (usually every 1h)",
        "missing.xml": "failing: 1 poll in a row",
        "p.xml": "paused",
    }
