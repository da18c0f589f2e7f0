"""SQLite has no feed claims: one process per database (its file lock), which schedules every
feed itself. Claims and leases are the PostgreSQL backend's (``_pg_claims``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .._errors import UnsupportedError
from .._models import FeedState

_WHY = "feed claims and leases are for several workers on PostgreSQL; SQLite has one process"


def no_leases(lease: tuple[str, datetime] | None) -> None:
    if lease is not None:
        raise UnsupportedError(_WHY)


class NoClaimsMixin:
    def claim_feeds(
        self, owner: str, now: datetime, *, limit: int = 50, lease: timedelta | None = None
    ) -> list[FeedState]:
        raise UnsupportedError(_WHY)

    def release_feed(self, feed: FeedState, owner: str, next_poll: datetime) -> bool:
        raise UnsupportedError(_WHY)

    def set_worker(self, owner: str) -> None:
        pass  # one process: its claims are nobody else's business

    def live_workers(self, now: datetime, *, fresh: timedelta) -> list[tuple[str, str]]:
        return []  # one process: no other worker

    def check_in(
        self, owner: str, config: str, now: datetime, *, fresh: timedelta
    ) -> list[tuple[str, str]]:
        raise UnsupportedError(_WHY)

    def check_out(self, owner: str) -> None:
        raise UnsupportedError(_WHY)
