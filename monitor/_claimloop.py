"""``monitor run`` on PostgreSQL: one of many workers. Instead of scheduling every feed itself,
each worker claims due feeds in small batches from the shared database and polls them.

A claim is one short transaction (``FOR UPDATE SKIP LOCKED``: workers take disjoint
batches) that leases the feeds to this worker; the poll runs with no transaction open; its
outcome, the feed's next due moment (``_lease.next_due``, or the wait from ``_decide`` after
a failure) and the lease's release are one transaction. A worker that dies leaves leases that
run out (``[monitor] lease``), and another worker takes those feeds. The worker claims no
more than it can poll at once (``concurrency``), so a claimed feed does not wait for a slot
while its lease runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from ._config import FeedConfig
from ._errors import StorageError
from ._feedjobs import FEEDS_REFRESH_INTERVAL, current_feeds
from ._lease import Lease
from ._outage import Outage
from ._poll import PollReport
from ._runtime import Runtime
from ._times import utcnow
from ._waits import wait_event

log = logging.getLogger(__name__)

CLAIM_BATCH = 10  # feeds claimed in one transaction
CLAIM_IDLE = 1.0  # seconds between claims when nothing was due (a feed is at most this late)

Poll = Callable[[FeedConfig, Lease], Coroutine[Any, Any, PollReport]]


class FeedClaimer:
    def __init__(
        self,
        rt: Runtime,
        poll: Poll,
        *,
        owner: str | None = None,
        batch: int = CLAIM_BATCH,
        idle: float = CLAIM_IDLE,
        watch: Callable[[asyncio.Task[PollReport]], None] | None = None,
    ) -> None:
        self.rt = rt
        self.poll = poll
        self.owner = owner or rt.worker
        self.batch = batch
        self.idle = idle
        self.watch = watch  # the metrics exporter's view of each poll
        self.running: dict[asyncio.Task[PollReport], Lease] = {}
        self._feeds: dict[str, FeedConfig] = {}
        self._feeds_at = float("-inf")
        self._wake = asyncio.Event()
        self.outage = Outage("claims")  # backoff while the database is away

    def feeds(self, *, fresh: bool = False) -> dict[str, FeedConfig]:
        """The feeds this worker polls (``current_feeds``), re-read every few seconds (a
        SIGHUP changes them) or when ``fresh``."""
        clock = asyncio.get_running_loop().time()
        if fresh or clock - self._feeds_at >= FEEDS_REFRESH_INTERVAL:
            self._feeds = {f.url: f for f in current_feeds(self.rt.config, self.rt.storage)}
            self._feeds_at = clock
        return self._feeds

    async def run(self) -> None:
        """Claim and poll until cancelled; on the way out, polls in flight are cancelled and
        their feeds released as they were (due), for another worker to take at once."""
        # When nothing is due, claims keep a fixed grid (every ``idle`` seconds), not ``idle``
        # after the last claim ended: that would make every feed one claim's duration later
        # each interval (a feed is due one interval after it *fell* due, see ``_lease``).
        loop = asyncio.get_running_loop()
        tick = loop.time()
        try:
            while True:
                room = self.rt.config.settings.concurrency - len(self.running)
                want = min(self.batch, room)
                try:
                    claimed = self._claim(want) if want > 0 else 0
                except StorageError as exc:  # the database restarts: back off, then again
                    await asyncio.sleep(self.outage.failed(exc))
                    tick = loop.time()
                    continue
                if want > 0:
                    self.outage.ok()
                if want > 0 and claimed == want:
                    await asyncio.sleep(0)  # a full batch: more may be due
                    continue
                while tick <= loop.time():
                    tick += self.idle
                self._wake.clear()
                await wait_event(self._wake, tick - loop.time())
        finally:
            await self._abandon()

    def _claim(self, limit: int) -> int:
        """Claim up to ``limit`` feeds and start their polls; a StorageError (the database
        is away) is raised before anything was claimed."""
        feeds = self.feeds()  # (may read the database: before taking the time)
        now = utcnow()  # the lease runs from here: the claim must follow at once
        claimed = self.rt.storage.claim_feeds(self.owner, now, limit=limit)
        refreshed = False
        for state in claimed:
            feed = feeds.get(state.url)
            if feed is None and not refreshed:  # added since the list was read (SIGHUP)
                feeds, refreshed = self.feeds(fresh=True), True
                feed = feeds.get(state.url)
            if feed is None:
                # Not in this worker's config, though a worker's sync made it live: one that
                # has reloaded a config with it. Back soon, for that worker (or this one once
                # it reloads too), not a whole interval later.
                later = now + timedelta(seconds=FEEDS_REFRESH_INTERVAL)
                self._release(Lease(self.owner, state), later)
                continue
            lease = Lease(self.owner, state)
            task = asyncio.create_task(self.poll(feed, lease), name=f"poll {feed.url}")
            if self.watch is not None:
                self.watch(task)
            self.running[task] = lease
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[PollReport]) -> None:
        full = len(self.running) >= self.rt.config.settings.concurrency
        self.running.pop(task, None)
        if full:  # a slot is free again: claim at once. (Otherwise the claims keep their
            self._wake.set()  # one-second rhythm: a feed is at most that late, never more.)

    def _release(self, lease: Lease, when: datetime) -> None:
        try:
            self.rt.storage.release_feed(lease.feed, lease.owner, when)
        except StorageError as exc:
            log.error("feed url=%r not released (its lease runs out): %s", lease.feed.url, exc)

    async def _abandon(self) -> None:
        held = dict(self.running)
        for task in held:
            task.cancel()
        if held:
            await asyncio.wait(held, timeout=3.0)
        for task, lease in held.items():
            if task.cancelled():  # stored nothing: due again now, for any worker
                self._release(lease, lease.feed.next_poll or utcnow())
