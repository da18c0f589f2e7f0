"""Argument types shared by the command modules (argparse converters)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ._durations import TooLong, parse_duration
from ._times import utcnow

LARGEST = 2**31 - 1  # a limit any database takes (SQLite's integers end at 2**63 - 1)


def positive(text: str) -> int:
    """A whole number from 1 to ``LARGEST`` (``--limit``, ``--items``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= LARGEST:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number from 1 to {LARGEST:,}")
    return value


def interval(text: str) -> float:
    """A feed's own polling interval (``feeds add --interval``): a duration of 1 s or more."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:  # (TooLong among them)
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1s, got {text!r}")
    return seconds


def _not_blank(expected: str) -> Callable[[str], str]:
    """An argument taken as written, anything but blank (``expected`` says what it is)."""

    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}")
        return text

    return check


# A topic's name (``init --topic``).
topic_name = _not_blank("a non-empty topic name")
# FEED (``feeds pause|resume|remove``): a blank one named a feed listed with a blank name.
feed = _not_blank("a feed's address or name, not blank")
# ``feeds add --name``: no command could name a feed with a blank one.
feed_name = _not_blank("a display name, not a blank one")


def since(text: str) -> datetime:
    """``--since``: a period back from now ("2h", "3d") or a date ("2025-03-11")."""
    try:
        return utcnow() - timedelta(seconds=parse_duration(text))
    except TooLong as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a duration such as 2h or 3d, or a date such as 2025-03-11"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)  # (as it is compared: in UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r}: out of range in UTC") from None
    return moment


def output_file(text: str) -> Path | None:
    """``--output FILE``: a file path; ``-`` is stdout (None, as without the option)."""
    if text == "-":
        return None
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a file path (or - for stdout)")
    return Path(text)
