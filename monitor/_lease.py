"""Pure: a feed claimed by one of several workers (PostgreSQL), and when it is due next.

A worker claims a feed that fell due at ``feed.next_poll`` and holds it under a lease; its
poll then writes the feed's next due moment in the poll's own transaction. The moment follows
the single process's scheduler: one interval (plus jitter) after the moment the feed fell due,
so a worker that claims a little late does not shift the feed's rhythm; after a failure, the
wait from :func:`monitor._decide.retry_until` (backoff and Retry-After), exactly — not rounded
up to the next interval tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ._models import FeedState

JITTER_CAP = 300.0  # seconds, as the single process's scheduler


@dataclass(frozen=True, slots=True)
class Lease:
    """``feed`` as ``owner`` claimed it (``feed.next_poll``: when it fell due)."""

    owner: str
    feed: FeedState


def jitter_seconds(interval: float, fraction: float, draw: float) -> float:
    """The jitter of one poll: ``draw`` (0 ≤ draw < 1) of ``fraction`` of the interval, at
    most :data:`JITTER_CAP` seconds."""
    return min(interval * fraction, JITTER_CAP) * draw


def next_due(due: datetime | None, now: datetime, interval: float, jitter: float = 0.0) -> datetime:
    """After a poll at ``now`` of a feed due at ``due``: one interval after ``due``; when that
    moment is less than half an interval away (the poll started late: a lease that ran out, a
    worker behind, a process too busy to start it on time), one interval after ``now``: missed
    polls are not made up, and no feed is asked twice within half an interval."""
    step = timedelta(seconds=interval)
    moment = due + step if due is not None else now + step
    if moment < now + step / 2:
        moment = now + step
    return moment + timedelta(seconds=jitter)
