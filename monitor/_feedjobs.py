"""The daemon's feed jobs, kept in step with the feed list while it runs.

Every ``FEEDS_REFRESH_INTERVAL`` seconds (and at once on SIGHUP) the daemon compares the feeds
it schedules with :func:`current_feeds`: feeds added from the CLI or an OPML import get a job
(polled at once if due), removed and paused feeds lose theirs, a changed interval or name
replaces the job (keeping its next run time). SIGHUP first re-reads ``config.toml``: its
``[[feeds]]`` and ``[monitor]`` polling intervals take effect; other changed keys need a
restart, and the log names them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._config import Config, FeedConfig, Settings, load_config, settings_bounds
from ._errors import ConfigError, MonitorError
from ._feedset import active_feeds
from ._fleet import config_digest, sync_config_feeds
from ._redact import redact_url
from ._relevance import read_seeds
from ._storage import check_database_folder
from ._times import utcnow

if TYPE_CHECKING:
    from ._runtime import Runtime
    from ._storage import Store

log = logging.getLogger(__name__)

FEEDS_REFRESH_INTERVAL = 5.0  # seconds: how soon `monitor feeds add/remove/pause` take effect

AddJob = Callable[[FeedConfig, datetime], None]
Plan = Callable[["Runtime", datetime], list[tuple[FeedConfig, datetime]]]


def current_feeds(config: Config, storage: Store | None) -> list[FeedConfig]:
    """The feeds to poll now: the config's and the database's, minus paused ones (``storage``
    None: no database yet, the config's)."""
    settings = config.settings
    rows = [] if storage is None else storage.feed_rows()
    return active_feeds(config.feeds, rows, settings.interval, bounds=settings_bounds(settings))


class FeedJobs:
    """One APScheduler job per polled feed (id = the feed's URL)."""

    def __init__(self, scheduler: Any, rt: Runtime, plan: Plan, add: AddJob) -> None:
        self.scheduler = scheduler
        self.rt = rt
        self.plan = plan  # when each feed runs first (due now, or at the end of its interval)
        self.add = add  # adds one feed's job: add(feed, first_run)
        self.feeds: dict[str, FeedConfig] = {}

    def start(self, now: datetime) -> list[tuple[FeedConfig, datetime]]:
        plan = self.plan(self.rt, now)
        for feed, first_run in plan:
            self.add(feed, first_run)
            self.feeds[feed.url] = feed
        return plan

    def refresh(self) -> None:
        """Bring the jobs in line with the feed list (added, removed, paused, changed)."""
        plan = {feed.url: (feed, first) for feed, first in self.plan(self.rt, utcnow())}
        for url in [u for u in self.feeds if u not in plan]:
            self._remove(url)
            log.info("feed url=%r: no longer polled (removed, paused or gone)", redact_url(url))
        for url, (feed, first_run) in plan.items():
            old = self.feeds.get(url)
            if old == feed:
                continue
            if old is not None:  # interval or name changed: same next run, unless the new
                job = self.scheduler.get_job(url)  # pace brings it sooner
                if job is not None and job.next_run_time is not None:
                    first_run = min(job.next_run_time, first_run)
                self._remove(url)
            self.add(feed, first_run)
            self.feeds[url] = feed
            log.info(
                "feed=%r url=%r: %s, first poll at %s",
                feed.name,
                redact_url(url),
                "changed" if old else "now polled",
                first_run.isoformat(timespec="seconds"),
            )

    def reload_config(self) -> None:
        """SIGHUP: re-read the config file; its feeds take effect, the rest after a restart."""
        if reload_feeds(self.rt):
            self.refresh()

    def _remove(self, url: str) -> None:
        if self.scheduler.get_job(url) is not None:
            self.scheduler.remove_job(url)
        self.feeds.pop(url, None)


_PACE = ("interval", "min_interval", "max_interval")  # [monitor] keys a SIGHUP applies
# Config fields as the config file names them
_SECTIONS = {
    "topics": "[[topics]]",
    "webhook": "[alerts.webhook]",
    "email": "[alerts.email]",
    "apprise": "[alerts.apprise]",
    "retry_schedule": "[alerts] retry_schedule",
    "feed_health": "[alerts] feed_health",
    "feedback": "[feedback]",
}


def reload_feeds(rt: Runtime) -> bool:
    """SIGHUP: re-read the config file; its ``[[feeds]]`` replace the running ones (and are
    synced to the database); other changes wait for a restart (logged). False: not read."""
    path = rt.config.path
    try:
        new = load_config(path)
        check_database_folder(new)  # as at start: else taken now, and the restart fails
    except MonitorError as exc:
        log.error("SIGHUP: config not reloaded, the running one stays: %s", exc)
        return False
    old = rt.config
    # the polling defaults reach every feed at once, with the [[feeds]] that take them
    pace = {key: getattr(new.settings, key) for key in _PACE}
    settings = dataclasses.replace(old.settings, **pace)
    changed = [
        f"[monitor] {f.name}"
        for f in dataclasses.fields(Settings)
        if getattr(new.settings, f.name) != getattr(settings, f.name)
    ]
    for f in dataclasses.fields(Config):
        if f.name not in ("feeds", "path", "settings"):
            before, after = getattr(old, f.name), getattr(new, f.name)
            changed += _changed_keys(_SECTIONS.get(f.name, f.name), before, after)
    if changed:
        log.warning(
            "SIGHUP: %s: takes effect at the next restart (only [[feeds]] and the [monitor] "
            "polling intervals reload)",
            _restart_note(changed),
        )
    _check_seeds(rt, new)
    running = dataclasses.replace(old, feeds=new.feeds, settings=settings)
    sync_config_feeds(rt.storage, running, config_digest(running, rt.trackers), rt.worker)
    rt.config = running
    log.info("SIGHUP: reloaded %s: %d configured feeds", path, len(new.feeds))
    return True


def _changed_keys(where: str, old: Any, new: Any) -> list[str]:
    """What changed between two values of one config table, named as the file names it:
    ``[alerts.webhook] timeout``; an entry of an array of tables by its name,
    ``[[topics]] 'paris'.threshold``, ``[[topics]] 'paris' added`` / ``removed`` (by position,
    ``[[x]][2]``, when its entries have no unique names); a whole table added or removed, or a
    plain value, ``where``."""
    if old == new:
        return []
    if isinstance(old, tuple) and isinstance(new, tuple) and where.startswith("[["):
        return _entries_changed(where, old, new)
    if dataclasses.is_dataclass(old) and dataclasses.is_dataclass(new):
        return [f"{where} {key}" for key in _fields_changed(old, new)]
    return [where]


def _entries_changed(where: str, old: tuple[Any, ...], new: tuple[Any, ...]) -> list[str]:
    """The entries of an array of tables changed, added and removed, each by its name (topics
    have unique names: removing the first is not a change of every later one), else by
    position."""
    old_named, new_named = _by_name(where, old), _by_name(where, new)
    if old_named is None or new_named is None:
        old_named = {f"{where}[{n}]": entry for n, entry in enumerate(old, 1)}
        new_named = {f"{where}[{n}]": entry for n, entry in enumerate(new, 1)}
    out = []
    for entry, before in old_named.items():
        after = new_named.get(entry)
        if after is None:
            out.append(f"{entry} removed")
        else:
            out += [f"{entry}.{key}" for key in _fields_changed(before, after)]
    out += [f"{entry} added" for entry in new_named if entry not in old_named]
    return out


def _by_name(where: str, entries: tuple[Any, ...]) -> dict[str, Any] | None:
    """``entries`` by their names (``[[topics]] 'paris'``); None when some have none, or the
    same."""
    names = [getattr(entry, "name", None) for entry in entries]
    if not all(isinstance(name, str) for name in names) or len(set(names)) < len(names):
        return None
    return {f"{where} {name!r}": entry for name, entry in zip(names, entries, strict=True)}


def _restart_note(changed: list[str]) -> str:
    """The changed keys, then the tables added and removed, as one sentence:
    ``[[topics]] 'b'.threshold, [alerts.webhook] timeout changed; [[topics]] 'c' added``."""
    parts = []
    for verb in ("changed", "added", "removed"):
        suffix = f" {verb}"
        if verb == "changed":
            named = [c for c in changed if not c.endswith((" added", " removed"))]
        else:
            named = [c.removesuffix(suffix) for c in changed if c.endswith(suffix)]
        if named:
            parts.append(f"{', '.join(named)}{suffix}")
    return "; ".join(parts)


def _fields_changed(old: Any, new: Any) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(old)
        if f.compare and getattr(old, f.name) != getattr(new, f.name)
    ]


def _check_seeds(rt: Runtime, new: Config) -> None:
    """SIGHUP: say which running topics' seed files were edited (they take effect at the next
    restart) or no longer read (that restart would fail). A topic whose config changed is
    already named with the keys that changed."""
    running = {tracker.name: tracker for tracker in rt.trackers}
    unchanged = set(rt.config.topics)
    for topic in new.topics:
        tracker = running.get(topic.name)
        if tracker is None:
            continue
        try:
            seeds = read_seeds(topic.seeds)
        except ConfigError as exc:
            log.error(
                "SIGHUP: topic %s: its seed files cannot be read (%s): the running profile "
                "stays, but the next restart would fail",
                topic.name,
                exc,
            )
            continue
        if topic in unchanged and not tracker.same_seeds(seeds, topic.phrases):
            log.warning(
                "SIGHUP: topic %s: its seed files changed: takes effect at the next restart",
                topic.name,
            )
