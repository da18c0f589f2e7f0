"""Waiting for an event with a timeout, without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["wait_event"]


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True when it was set.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives in the
    same loop iteration as the event (CPython gh-86296), and a daemon loop that waits this way
    then goes on after shutdown began (a PostgreSQL worker kept claiming and polling feeds
    with its HTTP client closed). ``asyncio.timeout`` tells its own timeout from a
    cancellation.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
            return True
    return False
