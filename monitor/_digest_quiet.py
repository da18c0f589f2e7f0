"""Digest quiet hours (``[alerts.email] quiet_hours = "22:00-07:00"``): local wall-clock
windows in which no digest is sent. Pure.

A window runs from its start (included) to its end (excluded) and may wrap past midnight.
Times are compared on the local clock of the digest's ``timezone``, so daylight saving moves
the window with the clock, as a person expects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def _minutes(moment: str) -> int:
    hour, sep, minute = moment.strip().partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise ValueError(f"{moment!r} is not HH:MM")
    if int(hour) > 23 or int(minute) > 59:
        raise ValueError(f"{moment!r} is not a time of day")
    return int(hour) * 60 + int(minute)


def parse_window(text: str) -> tuple[str, str]:
    """``"22:00-07:00"`` → ``("22:00", "07:00")``; ValueError for anything else (an empty
    window included)."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("two times joined by '-'")
    first, last = _minutes(start), _minutes(end)
    if first == last:
        raise ValueError("start and end are the same time")
    return f"{first // 60:02d}:{first % 60:02d}", f"{last // 60:02d}:{last % 60:02d}"


def in_window(moment: str, window: tuple[str, str]) -> bool:
    """Whether the local time of day ``"HH:MM"`` falls inside ``window``."""
    at, start, end = _minutes(moment), _minutes(window[0]), _minutes(window[1])
    if start < end:
        return start <= at < end
    return at >= start or at < end  # wraps past midnight


def quiet_until(now: datetime, window: tuple[str, str] | None, timezone: str) -> datetime | None:
    """When the quiet window that ``now`` (UTC) falls in ends (UTC); ``None`` when ``now`` is
    outside every window (a digest may go out)."""
    if window is None:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if not in_window(f"{local:%H:%M}", window):
        return None
    hour, minute = (int(part) for part in window[1].split(":"))
    for day in (0, 1):
        date = (local + timedelta(days=day)).date()
        end = datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone)
        if end.astimezone(UTC) > now:
            return end.astimezone(UTC)
    raise AssertionError("a quiet window ends within a day")  # pragma: no cover
