"""Adaptive polling (issue 13): the pure decider, the server's hints, the config keys, the
storage it needs on both backends, and the daemon honouring it against a loopback server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import _daemon
from monitor._config import FeedConfig, load_config
from monitor._decide import WEEK, adaptive_bounds, is_due, next_interval, next_poll
from monitor._errors import ConfigError
from monitor._models import Entry
from monitor._pollhints import feed_hint, http_hint
from monitor._storage import NewItem, Storage, Store
from monitor._times import iso
from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config
from tests.test_decide import state
from tests.test_storage_contract import backend, open_backend  # noqa: F401  (fixture)

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
HOUR = 3600.0

# -- the decider -------------------------------------------------------------------------


def test_without_bounds_the_interval_is_fixed_whatever_the_server_says() -> None:
    assert next_interval(600, weekly=10_000, feed_hint=7200, http_hint=86400) == 600
    assert next_poll(NOW, 600) == NOW + timedelta(minutes=10)


def test_the_publishing_rate_sets_the_pace_within_the_bounds() -> None:
    bounds = dict(min_interval=300.0, max_interval=86400.0)
    assert next_interval(600, weekly=168, **bounds) == HOUR  # one item an hour
    assert next_interval(600, weekly=7, **bounds) == 86400  # one a day
    assert next_interval(600, weekly=1, **bounds) == 86400  # one a week: capped
    assert next_interval(600, weekly=100_000, **bounds) == 300  # a firehose: floored
    assert next_interval(600, weekly=0, **bounds) == 86400  # silent a week: the slowest
    assert next_interval(600, weekly=None, **bounds) == 600  # no dated item: its interval
    assert next_interval(10, weekly=None, **bounds) == 300  # … within the bounds


def test_the_server_hints_are_floors_within_the_bounds() -> None:
    bounds = dict(min_interval=60.0, max_interval=6 * HOUR)
    assert next_interval(600, weekly=168 * 6, feed_hint=HOUR, **bounds) == HOUR  # <ttl>60
    assert next_interval(600, weekly=168 * 6, http_hint=1800, **bounds) == 1800  # max-age
    assert next_interval(600, weekly=168, http_hint=60, **bounds) == HOUR  # the rate is longer
    assert next_interval(600, weekly=168, feed_hint=86400, **bounds) == 6 * HOUR  # capped


def test_a_missing_bound_takes_its_default_without_crossing_the_other() -> None:
    assert adaptive_bounds(None, 7200) == (300, 7200)
    assert adaptive_bounds(60, None) == (60, 86400)
    assert adaptive_bounds(None, 120) == (120, 120)  # default min 5 min > max 2 min
    assert adaptive_bounds(2 * 86400, None) == (2 * 86400, 2 * 86400)
    assert next_interval(600, max_interval=7200, weekly=0) == 7200


def test_at_start_up_an_adaptive_feed_is_due_when_its_decided_poll_comes() -> None:
    polled = state(last_polled=NOW - timedelta(hours=1))
    assert not is_due(polled, NOW, 600, next_poll=NOW + timedelta(minutes=1))
    assert is_due(polled, NOW, 600, next_poll=NOW)
    assert is_due(polled, NOW, 7200) is False and is_due(polled, NOW, 600) is True
    assert is_due(state(), NOW, 600, next_poll=NOW + timedelta(days=1))  # never polled


# -- the server's hints ------------------------------------------------------------------


def test_http_hint_reads_max_age_minus_age_then_expires() -> None:
    assert http_hint({"cache-control": "public, max-age=300"}, NOW) == 300
    assert http_hint({"cache-control": 'max-age="300"', "age": "100"}, NOW) == 200
    assert http_hint({"cache-control": "max-age=300", "age": "400"}, NOW) is None  # stale
    assert http_hint({"cache-control": "no-cache, max-age=300"}, NOW) is None
    assert http_hint({"cache-control": "no-store"}, NOW) is None
    # "²" is a digit to str.isdigit() and not to float(): the poll's hint raised ValueError
    assert http_hint({"cache-control": "max-age=\u00b2"}, NOW) is None
    assert http_hint({"cache-control": "max-age=300", "age": "\u00b2"}, NOW) == 300
    assert http_hint({"cache-control": "max-age=soon"}, NOW) is None
    expires = {"date": "Tue, 11 Mar 2025 11:00:00 GMT", "expires": "Tue, 11 Mar 2025 11:30:00 GMT"}
    assert http_hint(expires, NOW) == 1800  # relative to the server's Date, not our clock
    assert http_hint({"expires": "Tue, 11 Mar 2025 12:10:00 GMT"}, NOW) == 600
    assert http_hint({"expires": "0"}, NOW) is None
    assert (
        http_hint({"expires": "Tue, 11 Mar 2025 12:10:00 GMT", "cache-control": "max-age=5"}, NOW)
        == 5
    )
    assert http_hint({}, NOW) is None


def test_feed_hint_reads_ttl_and_the_syndication_module_in_the_head_only() -> None:
    head = b'<rss version="2.0"><channel><title>t</title>'
    assert feed_hint(head + b"<ttl> 60 </ttl><item><title>x</title></item>") == HOUR
    sy = b'<rdf:RDF xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
    hourly = b"<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"
    assert feed_hint(sy + hourly + b"<items><rdf:Seq/></items></channel>") == 1800
    assert feed_hint(sy + b"<sy:updatePeriod>daily</sy:updatePeriod>") == 86400
    both = head + b"<ttl>15</ttl>" + hourly
    assert feed_hint(both) == 1800  # the larger
    assert feed_hint(head + b"<item><ttl>60</ttl></item>") is None  # not the channel's
    assert feed_hint(head + b"<ttl>0</ttl><sy:updatePeriod>often</sy:updatePeriod>") is None
    assert feed_hint(b"") is None and feed_hint(None) is None


# -- the config --------------------------------------------------------------------------


def _feeds(tmp_path: Path, monitor: str, extra: str) -> tuple[FeedConfig, ...]:
    return load_config(write_config(tmp_path, [], monitor=monitor, extra=extra)).feeds


def test_config_an_explicit_interval_without_bounds_stays_fixed(tmp_path: Path) -> None:
    extra = '[[feeds]]\nurl = "http://a.example/1"\ninterval = "5m"\n'
    extra += '[[feeds]]\nurl = "http://a.example/2"\n'
    fixed, default = _feeds(tmp_path, "", extra)
    assert (fixed.interval, fixed.adaptive) == (300, False)
    assert (default.interval, default.adaptive) == (600, False)  # [monitor] interval = "10m"


def test_config_bounds_per_feed_and_as_defaults(tmp_path: Path) -> None:
    monitor = 'min_interval = "2m"\nmax_interval = "6h"'
    extra = '[[feeds]]\nurl = "http://a.example/1"\n'  # takes [monitor]'s bounds
    extra += '[[feeds]]\nurl = "http://a.example/2"\ninterval = "1m"\n'  # its own: fixed
    extra += '[[feeds]]\nurl = "http://a.example/3"\ninterval = "1m"\nmax_interval = "1h"\n'
    a, b, c = _feeds(tmp_path, monitor, extra)
    assert (a.min_interval, a.max_interval, a.interval) == (120, 6 * HOUR, 600)
    assert not b.adaptive
    assert (c.min_interval, c.max_interval, c.interval) == (120, HOUR, 60)
    alone = '[[feeds]]\nurl = "http://a.example/4"\nmin_interval = "30m"\n'
    (d,) = _feeds(tmp_path, "", alone)
    assert (d.min_interval, d.max_interval) == (1800, 86400)


@pytest.mark.parametrize(
    ("monitor", "extra", "message"),
    [
        (
            'min_interval = "1h"\nmax_interval = "10m"',
            "",
            r"config\.toml: monitor\.max_interval: must be at least min_interval \(1h\), got '10m'",
        ),
        (
            "",
            '[[feeds]]\nurl = "http://a.example/1"\nmin_interval = "often"',
            r"config\.toml: \[\[feeds\]\]\[1\]\.min_interval: expected a duration",
        ),
        (
            'min_interval = "1h"',
            '[[feeds]]\nurl = "http://a.example/1"\nmax_interval = "5m"',
            r"\[\[feeds\]\]\[1\]\.max_interval: must be at least min_interval \(1h, from ",
        ),
        (
            'max_interval = "1h"',
            '[[feeds]]\nurl = "http://a.example/1"\nmin_interval = "2h"',
            r"\[\[feeds\]\]\[1\]\.min_interval: must be at most max_interval \(1h, from ",
        ),
        (
            "",
            '[[feeds]]\nurl = "http://a.example/1"\nmax_interval = "0s"',
            r"\[\[feeds\]\]\[1\]\.max_interval: must be at least 1s",
        ),
    ],
)
def test_config_errors_name_file_key_and_expectation(
    tmp_path: Path, monitor: str, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _feeds(tmp_path, monitor, extra)


# -- storage, both backends --------------------------------------------------------------


def test_storage_counts_the_weeks_items_and_keeps_the_decided_poll(
    backend: str,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    feed = FeedConfig("http://127.0.0.1:1/feed.xml", "Feed", 600, 60, 3600)
    storage: Store = open_backend(backend, tmp_path, request)
    try:
        storage.sync_feeds([feed])
        st = storage.feed_state(feed.url)
        since = NOW - timedelta(seconds=WEEK)
        assert storage.entry_frequency(st, since) is None  # nothing yet
        undated = Entry("id:u", "Undated", "s", "http://x/u", None, "fp-u")
        _store(storage, st, [undated])
        assert storage.entry_frequency(st, since) is None  # no date: rate unknown
        dated = [
            Entry(f"id:{n}", f"T{n}", "s", f"http://x/{n}", NOW - timedelta(days=n), f"fp-{n}")
            for n in (1, 2, 10)
        ]
        _store(storage, storage.feed_state(feed.url), dated)
        assert storage.entry_frequency(st, since) == 2  # 10 days ago is out of the week
        assert storage.next_polls() == {}
        storage.record_next_poll(st, NOW + timedelta(minutes=20))
        assert storage.next_polls() == {feed.url: NOW + timedelta(minutes=20)}
    finally:
        storage.close()


def _store(storage: Store, st: object, entries: list[Entry]) -> None:
    storage.store_poll(
        st,  # type: ignore[arg-type]
        NOW,
        title=None,
        fetch_url="http://127.0.0.1:1/feed.xml",
        etag=None,
        last_modified=None,
        body_hash=None,
        warning=None,
        items=[NewItem(e, ()) for e in entries],
        edited=[],
        channels=[],
    )


# -- end to end: the daemon against a loopback server ------------------------------------


def _ttl_feed(minutes: int) -> bytes:
    return rss([{"title": "ttl", "link": "https://e.test/ttl"}]).replace(
        b"<description>Test feed</description>",
        f"<description>Test feed</description><ttl>{minutes}</ttl>".encode(),
    )


def _run_for(config_path: Path, seconds: float) -> None:
    config = load_config(config_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(_daemon.run_daemon(config, stop))
        await asyncio.sleep(seconds)
        stop.set()
        await daemon

    asyncio.run(scenario())


def test_the_daemon_honours_max_age_and_ttl_and_a_restart_keeps_them(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three adaptive feeds polled every second unless the server asks otherwise: one with
    ``Cache-Control: max-age=2`` (also on its 304s), one with ``<ttl>1</ttl>``, one silent.
    Undated items: the rate is unknown, so each would run at its 1 s interval."""
    plain = rss([{"title": "plain", "link": "https://e.test/p"}])
    feed_server.add("/fast", plain)
    feed_server.add("/cached", plain, headers={"Cache-Control": "max-age=2"})
    feed_server.add("/ttl", _ttl_feed(1))
    monitor = 'min_interval = "1s"\nmax_interval = "1h"'
    extra = "".join(
        f'[[feeds]]\nurl = "{feed_server.url(p)}"\ninterval = "1s"\nmin_interval = "1s"\n'
        for p in ("/fast", "/cached", "/ttl")
    )
    config = write_config(tmp_path, [], monitor=monitor, extra=extra)
    _run_for(config, 4.6)
    fast, cached, ttl = (feed_server.count(p) for p in ("/fast", "/cached", "/ttl"))
    assert fast >= 3 and fast > cached  # every second (plus at most 10 % jitter)
    assert 1 <= cached <= 3  # never sooner than the 2 s the server asked
    assert ttl == 1  # the next one in a minute
    storage = Storage(tmp_path / "monitor.db")
    decided, states = storage.next_polls(), storage.feed_states()
    storage.close()
    for path, seconds in (("/fast", 1.0), ("/cached", 2.0), ("/ttl", 60.0)):
        url = feed_server.url(path)
        polled = states[url].last_polled
        assert polled is not None
        assert abs((decided[url] - polled).total_seconds() - seconds) < 0.1, path
    ttl_next = decided[feed_server.url("/ttl")]
    assert timedelta(seconds=50) < ttl_next - datetime.now(UTC) < timedelta(seconds=61)
    _run_for(config, 1.5)  # a restart: /ttl is not due yet, /fast is
    assert feed_server.count("/ttl") == 1
    assert feed_server.count("/fast") > fast

    # `monitor feeds` shows the decided next poll of adaptive feeds, none for fixed ones
    text = config.read_text().replace('interval = "1s"\nmin_interval = "1s"\n', "", 1)
    config.write_text(text.replace('min_interval = "1s"\nmax_interval = "1h"', ""))
    assert not load_config(config).feeds[0].adaptive  # /fast: no bounds left, fixed
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    shown = {row["url"]: row["next_poll"] for row in json.loads(capsys.readouterr().out)}
    assert shown[feed_server.url("/fast")] is None
    assert shown[feed_server.url("/ttl")] == iso(ttl_next)
