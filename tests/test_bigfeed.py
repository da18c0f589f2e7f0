"""A feed with a huge number of items cannot freeze the daemon (issue 11): at most
``[monitor] max_items`` entries (the newest) are taken from one feed per poll, so the event
loop stays responsive while it is polled and stored."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._parse import parse_feed
from monitor._runtime import open_runtime
from tests.feedserver import FeedServer, rss
from tests.helpers import START, write_config

COUNT = 40_000


def _big_feed() -> bytes:
    items = [
        {
            "title": f"Item {n} about nothing in particular",
            "link": f"https://big.example/{n}",
            "published": START + timedelta(seconds=n),
        }
        for n in range(COUNT)
    ]
    return rss(items)


def test_huge_feed_is_capped_and_the_loop_stays_responsive(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/big.xml", _big_feed())
    config = load_config(
        write_config(
            tmp_path,
            [feed_server.url("/big.xml")],
            monitor='max_size_mib = 50\nparse_timeout = "120s"\nmax_items = 500',
        )
    )
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def scenario() -> None:
        async with open_runtime(config) as rt:
            stop = asyncio.Event()
            tick = asyncio.create_task(ticker(stop))
            report = await rt.poller.poll(config.feeds[0])
            stop.set()
            await tick
            assert report.status == "ok", report

    asyncio.run(scenario())
    with sqlite3.connect(config.settings.database) as db:
        (count,) = db.execute("SELECT count(*) FROM items").fetchone()
        links = {row[0] for row in db.execute("SELECT link FROM items")}
    db.close()
    assert count == 500
    assert f"https://big.example/{COUNT - 1}" in links and "https://big.example/0" not in links
    assert max(gaps) < 1.0, f"the event loop was blocked for {max(gaps):.2f} s"


def test_parse_keeps_the_newest_entries_up_to_the_cap() -> None:
    items = [
        {"title": f"t{n}", "link": f"https://e.test/{n}", "published": START + timedelta(hours=n)}
        for n in (3, 1, 4, 0, 2)
    ]
    parsed = parse_feed(rss(items), url="https://e.test/f", headers={}, now=START, max_items=2)
    assert [e.title for e in parsed.entries] == ["t3", "t4"]  # the newest two, in feed order
    assert parsed.skipped == 3


def test_parse_takes_now_from_its_caller() -> None:
    """The pure parser reads no clock: a date is "in the future" relative to the ``now`` it
    is given."""
    body = rss([{"title": "t", "link": "https://e.test/1", "published": START}])
    before = parse_feed(body, url="https://e.test/f", headers={}, now=START - timedelta(days=3))
    after = parse_feed(body, url="https://e.test/f", headers={}, now=START + timedelta(days=2))
    assert before.entries[0].published is None  # more than two days ahead of that `now`
    assert after.entries[0].published == START


def test_a_lasting_feed_warning_is_logged_when_it_starts_and_when_it_ends(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A feed that is always malformed, or always lists more than max_items, logged a
    WARNING on every poll (144 a day at 10 minutes): now once when it starts or changes, an
    INFO line when it ends; `monitor feeds` shows it meanwhile (`warning`)."""
    config = load_config(
        write_config(tmp_path, [feed_server.url("/f.xml")], monitor="max_items = 2")
    )

    def body(n: int, *, broken: bool) -> bytes:
        items = [{"title": f"Item {k}", "link": f"https://e.test/{k}"} for k in range(n)]
        text = rss(items)
        return text.replace(b"</channel>", b"<item><title>open") if broken else text

    async def polls() -> None:
        async with open_runtime(config) as rt:
            for n, broken in ((3, True), (4, True), (5, True), (6, False), (7, False), (1, False)):
                feed_server.add("/f.xml", body(n, broken=broken))
                report = await rt.poller.poll(config.feeds[0])
                assert report.status == "ok", report

    with caplog.at_level(logging.INFO, logger="monitor"):
        asyncio.run(polls())
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned  # malformed and over max_items; then over max_items only
    assert "malformed" in warned[0] and "max_items" in warned[0], warned
    assert "malformed" not in warned[1] and "max_items" in warned[1], warned
    ended = [r.getMessage() for r in caplog.records if "reads cleanly again" in r.getMessage()]
    assert len(ended) == 1, ended
