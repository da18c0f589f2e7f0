"""The deliverer: takes due rows from the outbox, sends them, records every attempt.

Delivery is at least once: a crash between a send and its record sends the alert again on
restart, with the same id (``webhook-id`` / ``Message-ID``), so receivers can drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from ._alerts import Sender
from ._decide import next_retry
from ._errors import DeliveryError, EndpointGoneError, StorageError
from ._storage import Delivery, Storage
from ._times import utcnow

log = logging.getLogger(__name__)


class Deliverer:
    def __init__(
        self,
        storage: Storage,
        senders: Mapping[str, Sender],
        schedule: tuple[float, ...],
        *,
        targets: Mapping[str, str],
        concurrency: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.storage = storage
        self.senders = senders
        self.schedule = schedule
        self.targets = targets  # channel → where it sends (URL, server): a 410 disables that
        self.clock = clock
        self.limit = asyncio.Semaphore(concurrency)
        self.wakeup = asyncio.Event()
        self.gone: set[str] = set()  # channels disabled by a 410 during this run

    def wake(self) -> None:
        self.wakeup.set()

    async def deliver_due(self) -> int:
        """Send every delivery that is due now; return how many were attempted."""
        attempted = 0
        while True:
            due = self.storage.due_deliveries(self.clock(), list(self.senders), limit=200)
            if not due:
                return attempted
            await asyncio.gather(*(self._deliver(d) for d in due))
            attempted += len(due)

    async def run(self) -> None:
        """Deliver forever: whenever woken by new hits, or when the next retry falls due."""
        while True:
            self.wakeup.clear()
            try:
                await self.deliver_due()
                next_at = self.storage.next_attempt(list(self.senders))
            except StorageError as exc:  # locked or full: nothing is lost, try again soon
                log.error("deliveries paused: %s", exc)
                next_at = self.clock() + timedelta(seconds=5)
            timeout = (
                None if next_at is None else max(0.05, (next_at - self.clock()).total_seconds())
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout)

    async def _deliver(self, delivery: Delivery) -> None:
        sender = self.senders[delivery.channel]
        async with self.limit:
            if delivery.channel in self.gone:  # disabled while this one waited for its turn
                return
            try:
                await sender.send(delivery.alert)
            except EndpointGoneError as exc:
                # The alert stays pending: it goes out once the config names a new endpoint.
                now = self.clock()
                if delivery.channel not in self.gone:
                    self.gone.add(delivery.channel)
                    log.error(
                        "channel=%s answered 410 Gone: disabled until the config points it "
                        "elsewhere; its alerts wait in the outbox (%s)",
                        delivery.channel,
                        exc,
                    )
                    target = self.targets.get(delivery.channel, "")
                    self.storage.disable_channel(delivery.channel, target, now, str(exc))
                self.storage.record_delivery(delivery.id, now, error=str(exc), retry_at=now)
                return
            except DeliveryError as exc:
                now = self.clock()
                attempts = delivery.attempts + 1
                retry_at = next_retry(now, attempts, self.schedule) if exc.retryable else None
                self.storage.record_delivery(delivery.id, now, error=str(exc), retry_at=retry_at)
                if retry_at is None:
                    log.error(
                        "deliver hit=%s channel=%s failed for good after %d attempts: %s",
                        delivery.alert.id,
                        delivery.channel,
                        attempts,
                        exc,
                    )
                else:
                    log.warning(
                        "deliver hit=%s channel=%s attempt=%d failed, retry at %s: %s",
                        delivery.alert.id,
                        delivery.channel,
                        attempts,
                        f"{retry_at:%H:%M:%S}",
                        exc,
                    )
                return
            self.storage.record_delivery(delivery.id, self.clock())
            log.info("deliver hit=%s channel=%s delivered", delivery.alert.id, delivery.channel)
