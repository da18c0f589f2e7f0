"""Waiting out a database that is away (a restart, a failover, a lock): exponential backoff
between attempts, one ERROR line when the outage starts, a WARNING each minute it lasts, one
INFO line when it ends (every attempt in between at debug level: a long outage of several
loops in several workers must not flood the log).

The storage layer turns the driver's errors into :class:`~monitor._errors.StorageError` (and
reconnects on the next call); the loops that meet one (claims, deliveries) ask an
:class:`Outage` how long to wait before the next attempt instead of crashing or spinning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FIRST_WAIT = 0.5  # seconds before the first retry
MAX_WAIT = 5.0  # the longest wait between two attempts
REMIND_EVERY = 60.0  # seconds between the WARNINGs that an outage goes on


class Outage:
    """The state of one loop's outage: ``failed`` after each failure returns the wait before
    the next attempt (0.5, 1, 2, 4, 5, 5 … s); ``ok`` after each success ends the outage."""

    def __init__(
        self,
        what: str,
        *,
        first: float = FIRST_WAIT,
        cap: float = MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what  # what waits meanwhile, e.g. "claims"
        self.first = first
        self.cap = cap
        self.clock = clock
        self.failures = 0
        self._since = 0.0
        self._said = 0.0  # when the log last said so

    def failed(self, exc: BaseException) -> float:
        self.failures += 1
        wait = min(self.cap, self.first * 2.0 ** (self.failures - 1))
        now = self.clock()
        if self.failures == 1:
            self._since = self._said = now
            log.error("%s paused: %s (retrying with backoff)", self.what, exc)
        elif now - self._said >= REMIND_EVERY:
            self._said = now
            log.warning("%s still paused after %d attempts (%.0f s): %s", self.what,
                        self.failures, now - self._since, exc)  # fmt: skip
        else:
            log.debug("%s paused: %s (attempt %d, next in %.1f s)", self.what, exc,
                      self.failures, wait)  # fmt: skip
        return wait

    def ok(self) -> None:
        if self.failures:
            log.info("%s resumed: the database answers again after %d failed attempts (%.1f s)",
                     self.what, self.failures, self.clock() - self._since)  # fmt: skip
            self.failures = 0
