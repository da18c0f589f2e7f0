"""A claimed feed's poll on PostgreSQL writes its next due moment with its outcome: one
interval after it fell due when it answered, the `_decide` wait after a failure (backoff or
Retry-After, whichever is longer), exactly; the lease is released in the same transaction.
Real loopback feeds, the real runtime, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

from monitor._claimloop import FeedClaimer
from monitor._config import load_config
from monitor._lease import Lease
from monitor._runtime import open_runtime
from monitor._times import parse_iso, utcnow
from tests.feedserver import FeedServer, rss
from tests.receivers import WebhookReceiver
from tests.test_postgres_cycle import pg_config


def test_next_poll_after_success_failure_and_retry_after(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    feed_server.add("/ok", rss([{"title": "fine", "link": "https://e.test/1"}]))
    feed_server.add_behaviour("/fail", "status", status=500)
    feed_server.add_behaviour("/busy", "status", status=503, headers={"Retry-After": "900"})
    urls = {name: feed_server.url(f"/{name}") for name in ("ok", "fail", "busy")}
    path = pg_config(tmp_path, list(urls.values()), webhook_receiver, monitor="jitter = 0")
    config = load_config(path)  # interval 10 min

    async def poll_claimed() -> dict[str, str]:
        async with open_runtime(config) as rt:
            claimed = rt.storage.claim_feeds("w1", utcnow())
            assert len(claimed) == 3
            feeds = {f.url: f for f in config.feeds}
            for state in claimed:
                await rt.poller.poll(feeds[state.url], Lease("w1", state))
            assert rt.storage.claim_feeds("w2", utcnow()) == []  # nothing due any more
            leases = rt.storage.feed_leases()  # type: ignore[attr-defined]
        assert all(owner is None and until is None for owner, until, _ in leases.values())
        return {url: due for url, (_, _, due) in leases.items()}

    before = utcnow()
    due = {url: parse_iso(moment) for url, moment in asyncio.run(poll_claimed()).items()}
    after = utcnow()

    def within(moment: object, wait: timedelta) -> bool:
        return before + wait <= moment <= after + wait  # type: ignore[operator]

    assert within(due[urls["ok"]], timedelta(minutes=10))  # one interval
    assert within(due[urls["fail"]], timedelta(minutes=1))  # the first backoff, not 10 min
    assert within(due[urls["busy"]], timedelta(minutes=15))  # Retry-After beats the backoff


def test_a_stopping_worker_hands_its_unfinished_feeds_back_at_once(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    body = rss([{"title": "slow", "link": "https://e.test/1"}])
    feed_server.add_behaviour("/slow", "hold", body=body, delay=5.0)
    path = pg_config(tmp_path, [feed_server.url("/slow")], webhook_receiver)
    config = load_config(path)

    async def stop_mid_poll() -> dict[str, tuple[str | None, str | None, str]]:
        async with open_runtime(config) as rt:
            claimer = FeedClaimer(rt, lambda feed, lease: rt.poller.poll(feed, lease))
            task = asyncio.create_task(claimer.run())
            while feed_server.count("/slow") == 0:  # the poll is waiting for the answer
                await asyncio.sleep(0.05)
            assert rt.storage.feed_leases()[feed_server.url("/slow")][0] == claimer.owner  # type: ignore[attr-defined]
            task.cancel()  # SIGTERM cancels it so
            with contextlib.suppress(asyncio.CancelledError):
                await task
            leases: dict[str, tuple[str | None, str | None, str]]
            leases = rt.storage.feed_leases()  # type: ignore[attr-defined]
            return leases

    leases = asyncio.run(stop_mid_poll())
    assert leases[feed_server.url("/slow")] == (None, None, "1970-01-01T00:00:00.000Z")


def test_a_feed_added_by_sighup_while_a_worker_runs_is_polled_at_once(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    """A `[[feeds]]` table added and SIGHUP while a worker runs: the new feed is due at once.
    The worker's feed list is a few seconds old, so it claims a feed it does not know yet; it
    must look again, not push the feed back a whole interval (10 minutes here)."""
    from monitor._feedjobs import reload_feeds

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    feed_server.add("/old", rss([{"title": "old", "link": "https://e.test/1"}]))
    feed_server.add("/new", rss([{"title": "new", "link": "https://e.test/2"}]))
    old, new = feed_server.url("/old"), feed_server.url("/new")
    config = load_config(pg_config(tmp_path, [old], webhook_receiver))

    async def add_while_running() -> None:
        async with open_runtime(config) as rt:
            claimer = FeedClaimer(rt, lambda feed, lease: rt.poller.poll(feed, lease))
            task = asyncio.create_task(claimer.run())
            try:
                while feed_server.count("/old") == 0:  # running, its feed list just read
                    await asyncio.sleep(0.05)
                pg_config(tmp_path, [old, new], webhook_receiver)  # the user edits the file
                assert reload_feeds(rt)  # SIGHUP
                for _ in range(100):  # 5 s: well under the 10-minute interval
                    if feed_server.count("/new"):
                        break
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(add_while_running())
    assert feed_server.count("/new") == 1
