"""The daemon's feed health watch (issue 13): every ``HEALTH_INTERVAL`` (and after ``monitor
once``) each polled feed's health is judged as ``monitor feeds`` shows it; a change of its
coarse state (``_health.health_state``: ok, failing, silent, gone) is recorded once in
``feed_events`` and logged, and with ``[alerts] feed_health = true`` queued as an alert to the
channels in the same transaction (nothing lost, nothing twice, one alert per change).

Failing and gone feeds are already logged by the poller when it happens (a WARNING at the
5th failed poll in a row); this watch logs the silent ones (a WARNING when a feed turns
silent, one INFO line when it publishes again) and records every change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from ._cli_health import add_health
from ._config import Config
from ._feedjobs import current_feeds
from ._health import change_title, health_state
from ._storage import Store

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 600.0  # seconds between two health checks of the daemon
HEALTH_DELAY = 60.0  # the first one, after start-up's polls


def check_health(
    config: Config, storage: Store, now: datetime, *, channels: Sequence[str]
) -> list[str]:
    """Record (and log, and queue the alerts of) every feed whose health state changed;
    return the ids of the changes recorded. ``channels``: where alerts go when
    ``config.feed_health`` is on."""
    polled = {feed.url for feed in current_feeds(config, storage)}
    rows = add_health(storage, [r for r in storage.feeds_report() if r["url"] in polled], now)
    reported = storage.health_states()
    send = tuple(channels) if config.feed_health else ()
    changes: list[str] = []
    for row in rows:
        state = health_state(
            status=row["last_status"], error_count=row["error_count"], health=row["health"]
        )
        previous = reported.get(row["url"], "ok")
        if state is None or state == previous:
            continue
        title = change_title(row["name"], state, previous, row["health"])
        detail = row["health"]
        if state == "failing" and row.get("last_error"):
            detail += f"; last error: {row['last_error']}"
        ident = storage.record_health(
            row["url"], row["name"], state, title=title, detail=detail, now=now, channels=send
        )
        if ident is None:  # recorded meanwhile (another process)
            continue
        changes.append(ident)
        if state == "silent":
            log.warning("%s (see `monitor feeds`)", title)
        else:  # failing / gone were logged by the poller as they happened
            log.info("%s", title)
    return changes
