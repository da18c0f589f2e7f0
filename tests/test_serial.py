"""The database connection and the trackers are used from the event loop's thread only
(issue 11): the daemon's housekeeping jobs (saving the learned state, reloading feedback)
run on the loop, never in a scheduler thread beside a poll's transaction."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from monitor import _daemon
from monitor._config import load_config
from monitor._storage import Storage
from tests.feedserver import FeedServer
from tests.helpers import DATA, load_items, serve_items, write_config

ITEMS = load_items(DATA / "clear_items.jsonl")


def test_housekeeping_jobs_run_on_the_event_loop_thread(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = load_config(write_config(tmp_path, list(urls.values())))
    monkeypatch.setattr(_daemon, "STATE_SAVE_INTERVAL", 0.1)
    monkeypatch.setattr(_daemon, "FEEDBACK_INTERVAL", 0.1)
    threads: dict[str, set[str]] = {"save": set(), "feedback": set()}
    save, feedback = Storage.update_topic_states, Storage.feedback
    calls: list[str] = []

    def saving(self: Storage, *args: Any, **kw: Any) -> Any:
        threads["save"].add(threading.current_thread().name)
        calls.append("save")
        return save(self, *args, **kw)

    def reading(self: Storage, *args: Any, **kw: Any) -> Any:
        threads["feedback"].add(threading.current_thread().name)
        calls.append("feedback")
        return feedback(self, *args, **kw)

    monkeypatch.setattr(Storage, "update_topic_states", saving)
    monkeypatch.setattr(Storage, "feedback", reading)

    async def scenario() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        await _daemon.run_daemon(config, stop)

    began = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - began >= 1.4  # the daemon ran until told to stop
    loop_thread = threading.main_thread().name
    assert len(threads["save"]) >= 1 and len(threads["feedback"]) >= 1
    assert threads == {"save": {loop_thread}, "feedback": {loop_thread}}


def test_a_costly_state_save_runs_less_often(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic state save keeps to its budget of the daemon's time: a save that takes
    longer (here a slow disk: 0.1 s against a 0.1 s interval) pushes the next one back, and
    the final save at shutdown still happens."""
    urls = serve_items(feed_server, ITEMS)
    config = load_config(write_config(tmp_path, list(urls.values())))
    monkeypatch.setattr(_daemon, "STATE_SAVE_INTERVAL", 0.1)
    save = Storage.update_topic_states
    saves: list[float] = []

    def slow(self: Storage, *args: Any, **kw: Any) -> Any:
        time.sleep(0.1)
        saves.append(time.monotonic())
        return save(self, *args, **kw)

    monkeypatch.setattr(Storage, "update_topic_states", slow)

    async def scenario() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        await _daemon.run_daemon(config, stop)

    asyncio.run(scenario())
    # One periodic save (the next is ~100 s away at a budget of 0.1 %), then the final one;
    # at the plain interval it would have saved about seven times.
    assert len(saves) == 2
    assert Storage(config.settings.database).topic_state(config.topics[0].name) is not None


def _poll_twice_with_a_failed_write(tmp_path: Path, feed_server: FeedServer, fail: bool) -> Any:
    """Poll one feed (optionally after a first poll whose write fails because another process
    holds the database); return what the trackers and the grouper learned."""
    from monitor._errors import StorageError
    from monitor._runtime import open_runtime

    urls = serve_items(feed_server, ITEMS)
    config = load_config(write_config(tmp_path, list(urls.values())[:1]))

    async def scenario() -> Any:
        async with open_runtime(config) as rt:
            feed = config.feeds[0]
            if fail:
                rt.storage.conn.execute("PRAGMA busy_timeout = 50")
                other = sqlite3.connect(config.settings.database)
                other.execute("BEGIN IMMEDIATE")
                with pytest.raises(StorageError):
                    await rt.poller.poll(feed)
                other.rollback()
                other.close()
            report = await rt.poller.poll(feed)
            assert report.status == "ok" and report.hits >= 1
            grouper = rt.poller.grouper._grouper  # type: ignore[attr-defined]
            return [t.state() for t in rt.trackers], grouper.state()

    return asyncio.run(scenario())


def _learnt(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tracker states without the time of the poll (the adaptation's clock and the pool's
    admission times), which differs between two runs."""
    return [{**s, "clock": None, "pool": [e[:3] for e in s["pool"]]} for s in states]


def test_a_failed_write_teaches_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    """Trackers and the story grouper learn a poll's items only once its transaction has
    committed: a poll whose write failed, then succeeded, leaves them as one clean poll does."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    clean = _poll_twice_with_a_failed_write(tmp_path / "a", feed_server, fail=False)
    retried = _poll_twice_with_a_failed_write(tmp_path / "b", feed_server, fail=True)
    assert _learnt(retried[0]) == _learnt(clean[0])  # the trackers' stream statistics
    assert retried[1]["df"] == clean[1]["df"] and retried[1]["n"] == clean[1]["n"]
    assert [r[:2] for r in retried[1]["recent"]] == [r[:2] for r in clean[1]["recent"]]
