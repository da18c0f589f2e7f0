"""Pure decisions about when a feed may be polled and when an alert is retried.

They take values and ``now`` and return values; the poller and the deliverer do the I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ._models import FeedState

BACKOFF_FIRST = 60.0  # seconds after the first failure
BACKOFF_MAX = 6 * 3600.0


def backoff(error_count: int) -> float:
    """Seconds to wait after ``error_count`` consecutive failures: 1 min, 2 min, 4 min … 6 h."""
    if error_count < 1:
        return 0.0
    return min(BACKOFF_FIRST * 2.0 ** min(error_count - 1, 30), BACKOFF_MAX)


def retry_until(now: datetime, error_count: int, retry_after: float | None) -> datetime:
    """No request before this moment: the larger of the backoff and the server's Retry-After."""
    return now + timedelta(seconds=max(backoff(error_count), retry_after or 0.0))


def clamp_wait(until: datetime, since: datetime | None, now: datetime) -> datetime:
    """A stored wait (``until``, set at ``since``) seen at ``now``: never further from now
    than its own length. A run with the clock ahead stored both moments ahead; the wait they
    describe is kept, from now (a wait without its start counts as no wait at all)."""
    if since is None:
        return min(until, now)
    if since <= now:
        return until
    return now + max(until - since, timedelta(0))


def may_poll(feed: FeedState, now: datetime) -> bool:
    """Whether a feed may be asked now: never when gone, never before its server-imposed wait."""
    if feed.gone:
        return False
    return feed.retry_until is None or now >= feed.retry_until


def is_due(feed: FeedState, now: datetime, interval: float) -> bool:
    """Whether a feed is due at start-up: never polled, or its interval has passed."""
    if not may_poll(feed, now):
        return False
    return feed.last_polled is None or now >= feed.last_polled + timedelta(seconds=interval)


def next_retry(now: datetime, attempts: int, schedule: tuple[float, ...]) -> datetime | None:
    """When to retry a delivery after its ``attempts``-th failed attempt; None = give up."""
    if attempts > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempts - 1])


def retention_cutoff(now: datetime, keep: float | None) -> datetime | None:
    """Rows older than this moment are expired; None when kept for ever."""
    return None if keep is None else now - timedelta(seconds=keep)


def expired(published: datetime | None, cutoff: datetime | None) -> bool:
    """Whether a new entry is older than the retention period: it is not taken in, so an item
    that retention deleted cannot come back as new (and alert again) while its feed still
    lists it. Entries without a date cannot be told apart and are taken in."""
    return cutoff is not None and published is not None and published < cutoff
