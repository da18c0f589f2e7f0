"""Pure decisions about when a feed may be polled, when an alert is retried and when the
learned state is saved.

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


def is_due(
    feed: FeedState, now: datetime, interval: float, *, next_poll: datetime | None = None
) -> bool:
    """Whether a feed is due at start-up: never polled, or its interval has passed (or, for an
    adaptively polled feed, the ``next_poll`` decided after its last poll has come)."""
    if not may_poll(feed, now):
        return False
    if feed.last_polled is None:
        return True
    if next_poll is not None:
        return now >= next_poll
    return now >= feed.last_polled + timedelta(seconds=interval)


def next_retry(now: datetime, attempts: int, schedule: tuple[float, ...]) -> datetime | None:
    """When to retry a delivery after its ``attempts``-th failed attempt; None = give up."""
    if attempts > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempts - 1])


SAVE_BUDGET = 0.001  # share of the daemon's time its periodic state save may take
STATE_SAVE_MAX = 3600.0  # seconds: ... but never more apart than this


def state_save_wait(cost: float, interval: float) -> float:
    """Seconds from one periodic state save to the next, given what the last one took
    (``cost``): ``interval``, or longer in proportion when a save costs more than
    ``SAVE_BUDGET`` of it (each topic's word counts grow to megabytes over months, rewritten
    whole at every save), but at most ``STATE_SAVE_MAX`` (what a crash may cost in learning)."""
    return max(interval, min(cost / SAVE_BUDGET, STATE_SAVE_MAX))


def state_save_due(last: tuple[float, float] | None, now: float, interval: float) -> bool:
    """Whether the periodic save, run every ``interval`` seconds, saves at ``now``: the first
    time, then once :func:`state_save_wait` has passed since the ``last`` save began
    (``last`` = (its start, what it took), monotonic seconds), to the nearest run."""
    if last is None:
        return True
    began, cost = last
    return now - began >= state_save_wait(cost, interval) - interval / 2


def retention_cutoff(now: datetime, keep: float | None) -> datetime | None:
    """Rows older than this moment are expired; None when kept for ever."""
    return None if keep is None else now - timedelta(seconds=keep)


def expired(published: datetime | None, cutoff: datetime | None) -> bool:
    """Whether a new entry is older than the retention period: it is not taken in, so an item
    that retention deleted cannot come back as new (and alert again) while its feed still
    lists it. Entries without a date cannot be told apart and are taken in."""
    return cutoff is not None and published is not None and published < cutoff


# -- adaptive polling (issue 13) ----------------------------------------------------------

WEEK = 7 * 86400.0  # the window over which a feed's publishing rate is counted
DEFAULT_MIN_INTERVAL = 300.0  # adaptive bounds when only one of them is configured
DEFAULT_MAX_INTERVAL = 86400.0


def next_interval(
    interval: float,
    *,
    min_interval: float | None = None,
    max_interval: float | None = None,
    weekly: int | None = None,
    feed_hint: float | None = None,
    http_hint: float | None = None,
) -> float:
    """Seconds until a feed's next poll after a successful one (a 200 or a 304).

    Without bounds (``min_interval`` and ``max_interval`` both None) the feed is polled at its
    fixed ``interval``, as it always was. With bounds, the pace follows the feed:

    * its publishing rate: ``weekly`` items published in the last :data:`WEEK` give one poll
      per expected item (``WEEK / weekly``, Miniflux's "entry frequency"); none in a week
      gives ``max_interval``; an unknown rate (``None``: no dated item yet) gives ``interval``;
    * never sooner than the server asks: ``feed_hint`` (RSS ``<ttl>``, ``sy:updatePeriod`` /
      ``sy:updateFrequency``) and ``http_hint`` (``Cache-Control: max-age``, ``Expires``) are
      floors;
    * the result is clamped to ``[min_interval, max_interval]`` (a server hint longer than
      ``max_interval`` is cut to it: the bounds are the user's)."""
    if min_interval is None and max_interval is None:
        return interval
    low, high = adaptive_bounds(min_interval, max_interval)
    if weekly is None:
        pace = interval
    elif weekly <= 0:
        pace = high
    else:
        pace = WEEK / weekly
    pace = max(pace, feed_hint or 0.0, http_hint or 0.0)
    return min(max(pace, low), high)


def adaptive_bounds(min_interval: float | None, max_interval: float | None) -> tuple[float, float]:
    """``(low, high)``: a missing bound takes its default, never crossing the given one."""
    low = min_interval if min_interval is not None else DEFAULT_MIN_INTERVAL
    high = max_interval if max_interval is not None else DEFAULT_MAX_INTERVAL
    if min_interval is None:
        low = min(low, high)
    if max_interval is None:
        high = max(high, low)
    return low, high


def next_poll(
    now: datetime,
    interval: float,
    *,
    min_interval: float | None = None,
    max_interval: float | None = None,
    weekly: int | None = None,
    feed_hint: float | None = None,
    http_hint: float | None = None,
) -> datetime:
    """The moment of a feed's next poll after a successful one at ``now``
    (see :func:`next_interval`)."""
    seconds = next_interval(
        interval,
        min_interval=min_interval,
        max_interval=max_interval,
        weekly=weekly,
        feed_hint=feed_hint,
        http_hint=http_hint,
    )
    return now + timedelta(seconds=seconds)
