"""When the daemon polls each feed: the first run of every feed at start-up (due feeds
spread over ``STARTUP_SPREAD``), each feed's interval trigger with its jitter, and the next
run after a poll (a gone feed unscheduled, a failed one retried when its wait ends, an
adaptive one when the decider said)."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ._config import FeedConfig
from ._decide import is_due
from ._errors import StorageError
from ._feedjobs import current_feeds
from ._poll import PollReport
from ._runtime import Runtime
from ._times import utcnow

__all__ = ["STARTUP_SPREAD", "feed_trigger", "reschedule", "schedule_plan"]

log = logging.getLogger("monitor._daemon")  # the daemon's log lines, as before the move

STARTUP_SPREAD = 5.0  # seconds over which due feeds are started


def reschedule(
    scheduler: AsyncIOScheduler, rt: Runtime, feed: FeedConfig, report: PollReport
) -> None:
    """After a poll: a feed gone (410) loses its job; a failed one whose wait (backoff,
    Retry-After) ends before its next interval run is run again when the wait ends; an
    adaptively polled feed runs next when the decider said (plus jitter)."""
    job = scheduler.get_job(feed.url)
    if job is None:
        return
    if report.status == "gone":
        scheduler.remove_job(feed.url)
        log.info("feed=%r is gone: no longer scheduled", feed.name)
        return
    if report.next_poll is not None:
        wait = (report.next_poll - utcnow()).total_seconds()
        spread = min(wait * rt.config.settings.jitter, 300.0) * random.random()
        job.modify(next_run_time=report.next_poll + timedelta(seconds=max(spread, 0.0)))
        return
    if report.status != "error":
        return
    try:
        until = rt.storage.feed_state(feed.url).retry_until
    except StorageError:
        return
    if until is not None and (job.next_run_time is None or until < job.next_run_time):
        job.modify(next_run_time=until)


def feed_trigger(feed: FeedConfig, fraction: float) -> IntervalTrigger:
    """A feed's polls: every interval, each delayed by 0 to ``fraction`` of it (at most 5 min;
    in seconds with their fraction: a 5 s interval's 10 % is 0.5 s, not nothing)."""
    jitter = min(feed.interval * fraction, 300.0)
    return IntervalTrigger(seconds=feed.interval, jitter=jitter or None)


def schedule_plan(rt: Runtime, now: datetime) -> list[tuple[FeedConfig, datetime]]:
    """When each feed first runs: due feeds now (spread), the others when their interval ends.
    Gone feeds are not scheduled at all."""
    states = rt.storage.feed_states()
    decided = rt.storage.next_polls()  # adaptive feeds: the next poll chosen after the last
    feeds = [  # a feed added or deleted between the two reads waits for the next refresh
        f
        for f in current_feeds(rt.config, rt.storage)
        if f.url in states and not states[f.url].gone
    ]
    due = [
        f
        for f in feeds
        if is_due(
            states[f.url], now, f.interval, next_poll=decided.get(f.url) if f.adaptive else None
        )
    ]
    step = STARTUP_SPREAD / max(len(due), 1)
    plan = [(feed, now + timedelta(seconds=i * step)) for i, feed in enumerate(due)]
    for feed in feeds:
        if feed not in due:
            state = states[feed.url]
            later = [t for t in (state.retry_until,) if t is not None]
            if feed.adaptive and feed.url in decided:
                later.append(decided[feed.url])
            elif state.last_polled is not None:
                later.append(state.last_polled + timedelta(seconds=feed.interval))
            plan.append((feed, max(later, default=now)))
    return plan
