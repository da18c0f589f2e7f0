"""The fetcher's concurrency limits: ``concurrency`` fetches at once, at most ``per_host`` of
them to one host.

A fetch holds a per-host slot, then a global one (in that order: waiting for a busy host must
not hold a global slot); a host's semaphore is dropped when nobody uses it, so a long feed list
keeps no entry per host it ever saw. ``_fetch`` takes a slot for each request (each redirect
hop) and starts its deadline's clock only once the slot is held: queueing does not count.
"""

from __future__ import annotations

import asyncio

__all__ = ["FetchSlots"]


class FetchSlots:
    """A global semaphore and one per busy host; ``take(host)`` is an async context manager
    holding both. ``hosts`` has an entry only for a host with a fetch running or waiting."""

    __slots__ = ("_global", "hosts", "per_host")

    def __init__(self, concurrency: int, per_host: int) -> None:
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self.hosts: dict[str, _HostSlot] = {}

    def take(self, host: str) -> _Slot:
        slot = self.hosts.get(host)
        if slot is None:
            slot = self.hosts[host] = _HostSlot(self.per_host)
        return _Slot(self, host, slot)


class _HostSlot:
    """A per-host semaphore with a user count, dropped when nobody uses it."""

    __slots__ = ("semaphore", "users")

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.users = 0


class _Slot:
    """Holds a per-host slot, then a global one (in that order: waiting for a busy host must
    not hold a global slot)."""

    __slots__ = ("_host", "_slot", "_slots")

    def __init__(self, slots: FetchSlots, host: str, slot: _HostSlot) -> None:
        self._slots, self._host, self._slot = slots, host, slot

    async def __aenter__(self) -> None:
        self._slot.users += 1
        try:
            await self._slot.semaphore.acquire()
            try:
                await self._slots._global.acquire()
            except BaseException:
                self._slot.semaphore.release()
                raise
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots._global.release()
        self._slot.semaphore.release()
        self._leave()

    def _leave(self) -> None:
        self._slot.users -= 1
        if self._slot.users == 0:
            self._slots.hosts.pop(self._host, None)
