"""Waiting for an event with a timeout (the daemon's loops) never loses a cancellation."""

from __future__ import annotations

import asyncio

from monitor._waits import wait_event


def test_a_wake_that_comes_with_a_cancellation_ends_the_loop() -> None:
    """A poll that ends (waking the claim loop) in the same moment as shutdown cancels the
    loop: the loop must end, not go on claiming feeds with its HTTP client closed. (With
    ``asyncio.wait_for`` on Python 3.11 it went on.)"""

    async def loop(event: asyncio.Event, rounds: list[bool]) -> None:
        while True:
            event.clear()
            rounds.append(await wait_event(event, 10.0))

    async def main() -> tuple[bool, list[bool]]:
        event, rounds = asyncio.Event(), []
        task = asyncio.create_task(loop(event, rounds))
        await asyncio.sleep(0.01)
        event.set()
        task.cancel()
        await asyncio.sleep(0.05)
        return task.cancelled(), rounds

    cancelled, rounds = asyncio.run(main())
    assert cancelled
    assert rounds == []


def test_it_says_whether_the_event_came_or_the_time_ran_out() -> None:
    async def main() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_event(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        return timed_out, await wait_event(event, 5.0)

    assert asyncio.run(main()) == (False, True)
