"""The daemon's scheduler (issue 11): a backoff shorter than the interval is honoured, a feed
gone (410) at run time loses its job, and `monitor redeliver` reaches a running daemon."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from monitor import _daemon, _decide, _schedule
from monitor._config import load_config
from monitor._poll import Poller
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def _run_for(config_path: Path, seconds: float, during: Any = None) -> None:
    config = load_config(config_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(_daemon.run_daemon(config, stop))
        if during is not None:
            await during()
        await asyncio.sleep(seconds)
        stop.set()
        await daemon

    asyncio.run(scenario())


def test_backoff_shorter_than_the_interval_is_honoured(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_decide, "BACKOFF_FIRST", 1.0)  # the first backoff: 1 s, not 1 min
    feed_server.add_behaviour("/flaky", "status", status=500)
    config = write_config(tmp_path, [feed_server.url("/flaky")])  # interval 10 min

    async def recover() -> None:
        while feed_server.count("/flaky") == 0:
            await asyncio.sleep(0.05)
        feed_server.add("/flaky", rss([{"title": "back", "link": "https://e.test/1"}]))

    _run_for(config, 4.0, recover)
    assert feed_server.count("/flaky") == 2  # failed, then retried after its 1 s backoff


def test_a_feed_gone_at_run_time_loses_its_job(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.add_behaviour("/gone", "status", status=410)
    feed_server.add("/ok", rss([{"title": "fine", "link": "https://e.test/1"}]))
    config = write_config(
        tmp_path,
        [feed_server.url("/ok"), feed_server.url("/gone")],
        monitor="jitter = 0",
        extra='interval = "1s"',  # in the last [[feeds]] table: /gone's interval
    )
    calls: Counter[str] = Counter()
    poll = Poller.poll

    async def counting(self: Poller, feed: Any) -> Any:
        calls[feed.url.rsplit("/", 1)[1]] += 1
        return await poll(self, feed)

    monkeypatch.setattr(Poller, "poll", counting)

    async def first_answer() -> None:
        while feed_server.count("/gone") == 0:
            await asyncio.sleep(0.05)

    _run_for(config, 3.0, first_answer)  # three more intervals of /gone
    assert calls["ok"] == 1  # its interval is 10 min
    assert calls["gone"] == 1  # gone at its first run: never scheduled again
    assert feed_server.count("/gone") == 1


def test_redeliver_reaches_a_running_daemon(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()), webhook=webhook_receiver)
    webhook_receiver.respond_with(400)  # permanent: every alert `failed` at its first attempt
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == len(ON_TOPIC)
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    hit = json.loads(capsys.readouterr().out)[0]["id"]
    webhook_receiver.respond_with(204)

    async def redeliver() -> None:
        await asyncio.sleep(1.0)  # the daemon is running, nothing is due
        assert await asyncio.to_thread(cli, config, "redeliver", hit) == 0

    _run_for(config, 7.0, redeliver)
    again = webhook_receiver.received[len(ON_TOPIC) :]
    assert [r.json["id"] for r in again] == [hit]


def test_a_feed_failing_in_a_row_is_reported_once_and_its_recovery_too(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Feed health in the log: one WARNING when a feed reaches FAILING_AFTER failed polls in
    a row (not one per later failure), and one when it answers again."""
    from monitor import _poll

    monkeypatch.setattr(_decide, "BACKOFF_FIRST", 0.1)  # backoffs 0.1, 0.2, 0.4 … s
    monkeypatch.setattr(_poll, "FAILING_AFTER", 3)
    feed_server.add_behaviour("/flaky", "status", status=500)
    config = write_config(tmp_path, [feed_server.url("/flaky")])

    async def fail_then_recover() -> None:
        while feed_server.count("/flaky") < 5:
            await asyncio.sleep(0.05)
        feed_server.add("/flaky", rss([{"title": "back", "link": "https://e.test/1"}]))

    with caplog.at_level("WARNING", logger="monitor._poll"):
        _run_for(config, 6.0, fail_then_recover)
    failing = [r for r in caplog.records if "polls in a row" in r.getMessage()]
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert feed_server.count("/flaky") >= 6  # five failures, then it answered
    assert len(failing) == 1 and "failed 3 polls in a row" in failing[0].getMessage()
    assert "HTTP 500" in failing[0].getMessage()
    assert len(back) == 1 and "after 5 failed polls" in back[0].getMessage()


def test_a_shorter_interval_from_sighup_does_not_wait_out_the_old_one() -> None:
    """A feed's interval cut from 1 h to 15 s by SIGHUP: its next poll comes at the new pace,
    not at the end of the hour the old one had set."""
    from datetime import timedelta

    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor._config import FeedConfig
    from monitor._feedjobs import FeedJobs
    from monitor._times import utcnow

    scheduler = BackgroundScheduler()
    scheduler.start(paused=True)
    try:
        url, now = "http://127.0.0.1:1/a.xml", utcnow()

        def add(feed: FeedConfig, first: object) -> None:
            scheduler.add_job(print, "interval", seconds=feed.interval, id=feed.url,
                              next_run_time=first, replace_existing=True)  # fmt: skip

        plan = [(FeedConfig(url, "a", 3600.0), now + timedelta(hours=1))]
        jobs = FeedJobs(scheduler, None, lambda rt, at: list(plan), add)  # type: ignore[arg-type]
        jobs.start(now)
        plan[:] = [(FeedConfig(url, "a", 15.0), now + timedelta(seconds=15))]
        jobs.refresh()
        job = scheduler.get_job(url)
        assert job is not None and job.next_run_time <= now + timedelta(seconds=16)
    finally:
        scheduler.shutdown(wait=False)


def test_short_intervals_keep_their_jitter() -> None:
    """The jitter was cut to whole seconds: under a 10 s interval, none at all."""
    from monitor._config import FeedConfig

    assert _schedule.feed_trigger(FeedConfig("http://a/", "a", 5.0), 0.1).jitter == 0.5
    assert _schedule.feed_trigger(FeedConfig("http://a/", "a", 7200.0), 0.1).jitter == 300.0
    assert _schedule.feed_trigger(FeedConfig("http://a/", "a", 60.0), 0.0).jitter is None
