"""Durations written as "30s", "10m", "2h", "90d" (or plain seconds) → seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
LONGEST = 36500 * 86400.0  # 100 years: any longer and a date it is added to may overflow
TOO_LONG = "at most 36500d (100 years)"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$", re.IGNORECASE)


class TooLong(ValueError):
    """A duration longer than :data:`LONGEST`."""


def parse_duration(value: str | int | float) -> float:
    """Return the duration in seconds; raise ValueError with a short reason if malformed
    (:class:`TooLong` if longer than :data:`LONGEST`)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '10m', '2h' or '1d'")
    if isinstance(value, int | float):
        if math.isnan(value):
            raise ValueError("expected a duration such as '30s', '10m', '2h' or '1d', not nan")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration such as '30s', '10m', '2h' or '1d'")
        number, unit = match.groups()
        seconds = float(number) * _UNITS[(unit or "s").lower()]
    if not seconds <= LONGEST:  # (inf too)
        raise TooLong(TOO_LONG)
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration, for messages and tables."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
