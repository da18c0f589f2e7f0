"""The ``health`` column of ``monitor feeds`` (see :mod:`monitor._health`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ._health import feed_health
from ._storage import Store
from ._times import parse_iso

RHYTHM_WINDOW = timedelta(days=90)  # the items a feed's usual rhythm is measured on


def add_health(storage: Store, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    rhythms = storage.feed_rhythms(now - RHYTHM_WINDOW)
    for row in rows:
        items, first, last = rhythms.get(row["url"], (0, None, None))
        row["health"] = feed_health(
            status=row["last_status"],
            error_count=row["error_count"],
            paused=bool(row.get("paused")),
            items=items,
            first=parse_iso(first),
            last=parse_iso(last),
            now=now,
        )
    return rows
