"""Argument types shared by the command modules (argparse converters)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from ._durations import parse_duration
from ._times import utcnow


def positive(text: str) -> int:
    """A whole number of at least 1 (``--limit``, ``--items``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return value


def since(text: str) -> datetime:
    """``--since``: a period back from now ("2h", "3d") or a date ("2025-03-11")."""
    try:
        return utcnow() - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a duration such as 2h or 3d, or a date such as 2025-03-11"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
