"""The two drivers: ``monitor once`` (one cycle, then exit) and ``monitor run`` (the daemon).

On SQLite the daemon schedules each feed with APScheduler 3 at its interval (with jitter);
feeds that are due at start-up are polled at once, spread over a few seconds. On PostgreSQL
it is one of any number of workers: it claims due feeds from the shared database instead
(``_claimloop``). SIGINT/SIGTERM stop it:
polls in flight are cancelled (a poll stores nothing until its single transaction, so a
cancelled poll loses nothing and is simply done again), the learned state is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ._claimloop import FeedClaimer
from ._config import Config, FeedConfig
from ._errors import StorageError
from ._exporter import Exporter
from ._feedjobs import FEEDS_REFRESH_INTERVAL, FeedJobs, current_feeds, reload_feeds
from ._fleet import FLEET_INTERVAL, Fleet, runtime_fleet
from ._healthwatch import HEALTH_DELAY, HEALTH_INTERVAL, check_health
from ._judge_fleet import judge_pages
from ._lease import Lease
from ._outage import Outage
from ._poll import PollReport
from ._runtime import FEEDBACK_INTERVAL, Runtime, open_runtime
from ._schedule import STARTUP_SPREAD, feed_trigger, reschedule, schedule_plan
from ._storage import uses_postgres
from ._times import utcnow

log = logging.getLogger(__name__)

STATE_SAVE_INTERVAL = 300.0  # seconds; longer when saves grow costly (``state_save_wait``)
RETENTION_INTERVAL = 3600.0  # keep_items / keep_hits applied hourly, first a minute after start
RETENTION_DELAY = 60.0
SHUTDOWN_GRACE = 3.0
FILE_CHECK_INTERVAL = 2.0  # seconds: how soon a deleted or replaced database file stops it


async def run_once(config: Config) -> list[PollReport]:
    """Poll every feed now (honouring Retry-After and backoff), deliver what is due, exit."""
    async with open_runtime(config) as rt:
        feeds = current_feeds(rt.config, rt.storage)  # config + added, minus paused
        reports = await asyncio.gather(*(_poll_safely(rt, feed) for feed in feeds))
        rt.save_state()
        try:
            _watch_health(rt)
        except StorageError as exc:
            log.error("feed health not checked: %s", exc)
        await rt.deliverer.deliver_due()
        if rt.digest is not None:  # [alerts.email] mode = "digest": sent if its time came
            await rt.digest.deliver_if_due()
        await _expire_safely(rt)
    return list(reports)


def _watch_health(rt: Runtime) -> None:
    """Feed health changes: recorded, logged, and alerted when ``[alerts] feed_health``."""
    if check_health(rt.config, rt.storage, utcnow(), channels=list(rt.deliverer.senders)):
        rt.deliverer.wake()


async def _expire_safely(rt: Runtime) -> None:
    """Retention that fails (locked, disk full) is logged and tried again next time."""
    try:
        await rt.expire()
    except StorageError as exc:
        log.error("retention not applied: %s", exc)


async def _poll_safely(rt: Runtime, feed: FeedConfig, lease: Lease | None = None) -> PollReport:
    """A poll whose database write failed (locked, disk full) is reported, not raised: the
    feed's state was not advanced, so the next cycle fetches the same items again."""
    try:
        if lease is None:
            return await rt.poller.poll(feed)
        return await rt.poller.poll(feed, lease)
    except StorageError as exc:
        log.error("poll feed=%r not stored: %s", feed.name, exc)
        return PollReport(feed.name, "not-stored", error=str(exc))
    except Exception as exc:  # a bug met by one feed must not lose the other feeds' results
        log.exception("poll feed=%r failed unexpectedly", feed.name)
        return PollReport(feed.name, "error", error=f"{type(exc).__name__}: {exc}"[:300])


async def run_daemon(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with open_runtime(config) as rt:
            try:  # a topic new to the database is on record from now (`explain` tells)
                rt.save_state()
            except StorageError as exc:
                log.error("could not save the learned state: %s", exc)
            await _serve(rt, stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve(rt: Runtime, stop: asyncio.Event) -> None:
    running: set[asyncio.Task[PollReport]] = set()
    stopping = asyncio.Event()  # set before the scheduler shuts down
    exporter = (  # /metrics, /healthz; the last success as stored, across restarts
        Exporter(rt.config, rt.storage.last_success()) if rt.config.settings.metrics else None
    )
    judges = judge_pages(  # [feedback]: one-click judgements; one worker per host serves them
        rt.config, FEEDBACK_INTERVAL, shared=uses_postgres(rt.config)
    )

    async def poll_job(feed: FeedConfig) -> None:
        task = asyncio.create_task(_poll_safely(rt, feed))
        if exporter is not None:
            exporter.watch_poll(task)
        running.add(task)
        try:
            report = await asyncio.shield(task)
        except asyncio.CancelledError:
            if stopping.is_set():  # the scheduler's shutdown cancels the jobs in flight
                return  # a poll in flight at a stop is abandoned: a normal stop, not an error
            raise
        finally:
            running.discard(task)
        reschedule(scheduler, rt, feed, report)

    scheduler = AsyncIOScheduler(timezone="UTC", event_loop=asyncio.get_running_loop())
    now = utcnow()

    def add_feed_job(feed: FeedConfig, first_run: datetime) -> None:
        scheduler.add_job(
            poll_job,
            feed_trigger(feed, rt.config.settings.jitter),
            args=[feed],
            id=feed.url,
            name=feed.name,
            next_run_time=first_run,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(feed.interval),
        )

    def watch_health() -> None:
        _watch_health(rt)

    claimer: FeedClaimer | None = None
    fleet: Fleet | None = None
    if uses_postgres(rt.config):  # one of many workers: claim due feeds from the database
        watch = exporter.watch_poll if exporter is not None else None
        claimer = FeedClaimer(rt, lambda feed, lease: _poll_safely(rt, feed, lease), watch=watch)

        def reload_config() -> None:  # the claim loop reads the feeds anew within seconds
            reload_feeds(rt)

        hup = _Retried(reload_config)
        plan: list[tuple[FeedConfig, datetime]] = []
        fleet = runtime_fleet(rt)

        def check_fleet() -> None:  # named: a failed check-in is logged as "check_fleet: ..."
            fleet.check(rt.storage, utcnow())

        scheduler.add_job(
            _guarded(check_fleet),
            IntervalTrigger(seconds=FLEET_INTERVAL),
            id="fleet",
            next_run_time=now,
            coalesce=True,
        )
    else:
        # issue 13: feeds added/removed/paused from the CLI and SIGHUP reach the running daemon
        feed_jobs = FeedJobs(scheduler, rt, schedule_plan, add_feed_job)
        plan = feed_jobs.start(now)
        scheduler.add_job(
            _guarded(feed_jobs.refresh),
            IntervalTrigger(seconds=FEEDS_REFRESH_INTERVAL),
            id="feeds",
            coalesce=True,
        )
        hup = _Retried(feed_jobs.reload_config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, hup)

    def save_state() -> None:  # named: a failed save is logged as "save_state: ..."
        rt.save_state_if_due(STATE_SAVE_INTERVAL)

    scheduler.add_job(
        _guarded(save_state),
        IntervalTrigger(seconds=STATE_SAVE_INTERVAL),
        id="save-state",
        coalesce=True,
    )
    scheduler.add_job(
        _guarded(rt.refresh_feedback),
        IntervalTrigger(seconds=FEEDBACK_INTERVAL),
        id="feedback",
        coalesce=True,
    )
    scheduler.add_job(
        _guarded(watch_health),
        IntervalTrigger(seconds=HEALTH_INTERVAL),
        id="health",
        next_run_time=now + timedelta(seconds=HEALTH_DELAY),
        coalesce=True,
    )
    scheduler.add_job(
        _expire_safely,
        IntervalTrigger(seconds=RETENTION_INTERVAL),
        args=[rt],
        id="retention",
        next_run_time=now + timedelta(seconds=RETENTION_DELAY),
        max_instances=1,
        coalesce=True,
    )
    deliverer = asyncio.create_task(rt.deliverer.run(), name="deliverer")
    watchdog = asyncio.create_task(_watch_database(rt), name="database-watch")
    digest = asyncio.create_task(rt.digest.run(), name="digest") if rt.digest else None
    essential = {deliverer, watchdog}  # if one of these ends, the daemon stops (and says why)
    scheduler.start()
    if exporter is not None:
        exporter.start()
    if judges is not None:
        judges.start()
    if claimer is not None:
        essential.add(asyncio.create_task(claimer.run(), name="claims"))
        log.info(
            "worker %s started: claims due feeds of %s, topics=%d, channels=%s",
            claimer.owner,
            rt.storage.where,
            len(rt.trackers),
            _channels(rt),
        )
    else:
        due = sum(1 for _, when in plan if when <= now + timedelta(seconds=STARTUP_SPREAD))
        log.info(
            "daemon started: feeds=%d (due now: %d), topics=%d, channels=%s",
            len(plan),
            due,
            len(rt.trackers),
            _channels(rt),
        )
    try:
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, *essential}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        for ended in essential:
            if ended.done() and not ended.cancelled():
                ended.result()  # the deliverer died or the database file is gone: raise it
    finally:
        in_flight = len(running) + (len(claimer.running) if claimer is not None else 0)
        log.info("stopping: %d polls in flight", in_flight)
        loop.remove_signal_handler(signal.SIGHUP)
        hup.cancel()
        if exporter is not None:
            exporter.stop()
        if judges is not None:
            judges.stop()
        stopping.set()
        scheduler.shutdown(wait=False)
        background: set[asyncio.Task[Any]] = {*running, *essential}
        if digest is not None:
            background.add(digest)
        for task in background:
            task.cancel()
        await asyncio.wait(background, timeout=SHUTDOWN_GRACE)
        try:
            rt.save_state()
        except StorageError as exc:
            log.error("could not save the learned state: %s", exc)
        if fleet is not None:
            with contextlib.suppress(StorageError):  # else forgotten a day later
                fleet.leave(rt.storage)
        log.info("stopped")


def _channels(rt: Runtime) -> str:
    """The alert channels, for the start-up line (a digest's email sends on its schedule)."""
    names = [*rt.deliverer.senders, *(["email (digest)"] if rt.digest else [])]
    return ",".join(names) or "none"


async def _watch_database(rt: Runtime) -> None:
    """Return (raising) when the database file was deleted or replaced under the daemon."""
    while True:
        await asyncio.sleep(FILE_CHECK_INTERVAL)
        rt.storage.check_file()


class _Retried:
    """SIGHUP's reload, run on the loop's thread. One that meets a database error (locked by
    another process, away) is tried again with backoff until it is done, logged as one outage
    (dropped, it left the daemon on the old feed list until the next SIGHUP). :meth:`cancel`
    at the stop."""

    def __init__(self, job: Callable[[], None]) -> None:
        self.job = job
        self.outage = Outage("SIGHUP reload")
        self._later: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        self.cancel()  # a new SIGHUP meanwhile: now, once
        try:
            self.job()
        except StorageError as exc:
            wait = self.outage.failed(exc)
            self._later = asyncio.get_running_loop().call_later(wait, self)
        else:
            self.outage.ok()

    def cancel(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None


def _guarded(job: Callable[[], None]) -> Callable[[], Coroutine[Any, Any, None]]:
    """A housekeeping job, run on the event loop (a coroutine job: APScheduler's asyncio
    executor runs it on the loop, never in its thread pool), so it uses the one SQLite
    connection and the trackers from the same thread as the polls, between their steps;
    its database error is logged and the next run tries again."""

    outage = Outage(job.__name__)  # one ERROR while the database is away, not one a run

    async def run() -> None:
        try:
            job()
        except StorageError as exc:
            outage.failed(exc)
        else:
            outage.ok()

    run.__name__ = job.__name__
    return run
