"""What a server says about when to ask again, read from one response. Pure: values in,
seconds out; :func:`monitor._decide.next_interval` makes them floors of the next poll.

* HTTP caching (RFC 9111): ``Cache-Control: max-age`` (minus ``Age``), else ``Expires``
  relative to the response's ``Date``; ``no-store`` / ``no-cache`` ask for no wait at all.
* The feed itself: RSS 2.0 ``<ttl>`` (minutes) and the RSS syndication module's
  ``sy:updatePeriod`` / ``sy:updateFrequency`` ("hourly", 2 → every 30 minutes).

Only the channel's head is searched (the bytes before the first ``<item>`` or ``<entry>``,
at most :data:`HEAD_BYTES`): cheap enough to run on every poll, without a second parse.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["HEAD_BYTES", "MAX_HINT", "feed_hint", "http_hint"]

HEAD_BYTES = 64 * 1024
MAX_HINT = 30 * 86400.0  # a larger hint is read as this (the feed's max_interval cuts it anyway)

_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_FIRST_ENTRY = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_TTL = re.compile(rb"<ttl\s*>\s*(\d{1,9})\s*</ttl\s*>")
_PERIOD = re.compile(rb"<([\w.-]+):updatePeriod\s*>\s*([A-Za-z]{1,10})\s*</\1:updatePeriod\s*>")
_FREQUENCY = re.compile(rb"<([\w.-]+):updateFrequency\s*>\s*(\d{1,9})\s*</\1:updateFrequency\s*>")


def feed_hint(body: bytes | None) -> float | None:
    """Seconds the feed asks between polls (the larger of ``<ttl>`` and the syndication
    module's period / frequency); None when it says nothing usable."""
    if not body:
        return None
    head = body[:HEAD_BYTES]
    first = _FIRST_ENTRY.search(head)
    if first is not None:
        head = head[: first.start()]
    hints: list[float] = []
    ttl = _TTL.search(head)
    if ttl is not None and int(ttl.group(1)) > 0:
        hints.append(int(ttl.group(1)) * 60.0)
    period = _PERIOD.search(head)
    if period is not None:
        length = _PERIODS.get(period.group(2).decode("ascii").lower())
        frequency = _FREQUENCY.search(head)
        times = int(frequency.group(2)) if frequency is not None else 1
        if length is not None and times > 0:
            hints.append(length / times)
    return min(max(hints), MAX_HINT) if hints else None


def http_hint(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the response stays fresh (``headers`` with lower-case keys); None when the
    response says nothing, asks not to be cached, or is already stale."""
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return None
    if "max-age" in directives:
        max_age = _seconds(directives["max-age"])
        if max_age is None:
            return None
        age = _seconds(headers.get("age", "")) or 0.0
        return _fresh(max_age - age)
    expires = _http_date(headers.get("expires"))
    if expires is None:  # absent, or invalid (RFC 9111: "already expired")
        return None
    date = _http_date(headers.get("date")) or now
    return _fresh((expires - date).total_seconds())


def _cache_control(value: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            directives.setdefault(name.strip().lower(), argument.strip().strip('"'))
    return directives


def _seconds(text: str) -> float | None:
    text = text.strip()
    return float(text) if text.isascii() and text.isdigit() else None  # not "²"


def _http_date(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fresh(seconds: float) -> float | None:
    return min(seconds, MAX_HINT) if seconds > 0 else None
