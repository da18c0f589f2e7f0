"""Feed health for ``monitor feeds``: failing polls in a row, or silent for much longer than
the feed's own publishing rhythm. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from ._durations import format_duration

FAILING_AFTER = 5  # failed polls in a row after which the daemon logs a WARNING (once)
SILENT_FACTOR = 10  # silent when the last item is this many usual gaps old …
SILENT_MINIMUM = timedelta(days=2)  # … and at least this old
NOT_POLLED = "not polled yet"


def feed_health(
    *,
    status: str | None,
    error_count: int,
    paused: bool,
    items: int,
    first: datetime | None,
    last: datetime | None,
    now: datetime,
) -> str:
    """``ok``, ``paused``, ``not polled yet``, ``gone``, ``failing: 3 polls in a row`` or
    ``silent 5d (usually every 2h)``; ``items``, ``first`` and ``last`` describe the feed's
    recent items (their publication times)."""
    if paused:
        return "paused"
    if status is None:  # no poll has been recorded (a new feed, or before any database)
        return NOT_POLLED
    if status == "gone":
        return "gone"
    if error_count:
        return f"failing: {error_count} poll{'s' if error_count > 1 else ''} in a row"
    if items >= 3 and first is not None and last is not None and last > first:
        gap = (last - first) / (items - 1)
        quiet = now - last
        if quiet > max(gap * SILENT_FACTOR, SILENT_MINIMUM):
            return f"silent {_span(quiet)} (usually every {_span(gap)})"
    return "ok"


def _span(delta: timedelta) -> str:
    """A silence or a rhythm, rounded to its largest unit up to days (never weeks: "87w"
    beside "612d" in one table reads as two scales)."""
    seconds = delta.total_seconds()
    if seconds >= 86400:
        return f"{round(seconds / 86400)}d"
    for unit in (3600, 60):
        if seconds >= unit:
            return format_duration(round(seconds / unit) * unit)
    return format_duration(max(1, round(seconds)))


# -- state changes, for the daemon's log and the optional alerts ------------------------------

PROBLEMS = ("failing", "silent", "gone")


def health_state(*, status: str | None, error_count: int, health: str) -> str | None:
    """The coarse state a change of which is reported: ``ok``, ``failing`` (at least
    ``FAILING_AFTER`` failed polls in a row), ``silent`` or ``gone``; None while it is not
    settled (a few failures: neither failing yet nor ok) or not judged (paused, not polled
    yet). ``health`` is :func:`feed_health`'s text for the same feed."""
    if health in ("paused", NOT_POLLED):
        return None
    if status == "gone":
        return "gone"
    if error_count >= FAILING_AFTER:
        return "failing"
    if error_count:
        return None
    return "silent" if health.startswith("silent") else "ok"


def change_title(feed: str, state: str, previous: str, health: str) -> str:
    """One line for the log and the alert's title."""
    if state in ("silent", "failing"):
        return f"feed {feed!r} is {health}"
    if state == "gone":
        return f"feed {feed!r} is gone (HTTP 410): no longer polled"
    return f"feed {feed!r} is healthy again (was {previous})"
