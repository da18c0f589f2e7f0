"""The deliverer: takes due rows from the outbox, sends them, records every attempt.

Delivery is at least once: a crash between a send and its record sends the alert again on
restart, with the same id (``webhook-id`` / ``Message-ID``), so receivers can drop the copy.

Each channel is delivered by its own loop with its own bound on sends at once
(``Sender.concurrency``): a stalling mail server cannot hold back webhooks, polls (which never
wait for a send) or shutdown (sends in flight are abandoned and retried on the next start).
A channel whose attempt hits its deadline stops its round; its other due alerts wait for
the next round instead of queueing behind the stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ._alerts import Sender
from ._decide import next_retry
from ._errors import DeliveryError, DeliveryTimeout, EndpointGoneError, StorageError
from ._judge import unlinked
from ._models import Alert
from ._outage import Outage
from ._storage import Delivery, Store
from ._times import utcnow
from ._waits import wait_event

log = logging.getLogger(__name__)

OUTBOX_POLL = 5.0  # seconds: how soon `monitor redeliver` (another process) reaches the daemon
STALL_PAUSE = 5.0  # seconds a stalled channel rests before its next round


class Deliverer:
    def __init__(
        self,
        storage: Store,
        senders: Mapping[str, Sender],
        schedule: tuple[float, ...],
        *,
        targets: Mapping[str, str],
        clock: Callable[[], datetime] = utcnow,
        outbox_poll: float = OUTBOX_POLL,
        link: Callable[[Alert], Alert] = unlinked,
    ) -> None:
        self.storage = storage
        self.link = link  # [feedback]: a hit's alert carries its judge links
        self.senders = senders
        self.schedule = schedule
        self.targets = targets  # channel → where it sends (URL, server): a 410 disables that
        self.clock = clock
        self.outbox_poll = outbox_poll
        self.limits = {name: asyncio.Semaphore(s.concurrency) for name, s in senders.items()}
        self.wakeups = {name: asyncio.Event() for name in senders}
        self.gone: set[str] = set()  # channels disabled by a 410 during this run

    def wake(self) -> None:
        for event in self.wakeups.values():
            event.set()

    async def deliver_due(self) -> int:
        """Send every delivery that is due now, every channel at once; return how many were
        attempted."""
        counts = await asyncio.gather(*(self._round(name) for name in self.senders))
        return sum(attempted for attempted, _ in counts)

    async def _round(self, channel: str) -> tuple[int, bool]:
        """One channel's due deliveries; returns (attempted, stalled)."""
        attempted = 0
        # No more claimed than the channel sends at once: a claim's lease covers one send,
        # not a queue (on PostgreSQL a row still queued when it runs out is another
        # worker's to send, again).
        at_once = self.senders[channel].concurrency
        while True:
            now = self.clock()
            due = self.storage.due_deliveries(now, [channel], limit=at_once)
            # feed health alerts ([alerts] feed_health): their own table, the same rules
            if len(due) < at_once:
                due += self.storage.due_health_deliveries(now, [channel], limit=at_once - len(due))
            if not due:
                return attempted, False
            stalled: list[bool] = []
            outcomes = await asyncio.gather(*(self._deliver(d, stalled) for d in due))
            attempted += sum(outcomes)
            if stalled or channel in self.gone:
                return attempted, bool(stalled)

    async def run(self) -> None:
        """Deliver forever, one loop per channel: whenever woken by new hits (this process's
        or, on PostgreSQL, any worker's and ``monitor redeliver``'s: ``listen_outbox``), when
        the next retry falls due, and every ``outbox_poll`` seconds (the fallback)."""
        if not self.senders:  # nothing to send: idle until cancelled
            await asyncio.Event().wait()
        await asyncio.gather(self._listen(), *(self._run_channel(name) for name in self.senders))

    async def _listen(self) -> None:
        """Wake-ups from other processes, while the backend has them (PostgreSQL's NOTIFY);
        a lost listener connects again after a pause, the polling covers the gap."""
        outage = Outage("outbox notifications")

        def notified() -> None:
            outage.ok()
            self.wake()

        while True:
            try:
                await self.storage.listen_outbox(notified)
                return  # nothing to listen to (SQLite)
            except StorageError as exc:
                await asyncio.sleep(outage.failed(exc))
            except Exception:  # a bug here must not stop the deliveries: the polling goes on
                log.exception("outbox notifications stopped; the outbox is still polled")
                return

    async def _run_channel(self, channel: str) -> None:
        wakeup = self.wakeups[channel]
        outage = Outage(f"deliveries of channel={channel}")  # backoff while the database is away
        while True:
            wakeup.clear()
            pause = self.outbox_poll
            try:
                _, stalled = await self._round(channel)
                next_at = _earliest(
                    self.storage.next_attempt([channel]),
                    self.storage.next_health_attempt([channel]),
                )
                if next_at is not None:
                    pause = min(pause, (next_at - self.clock()).total_seconds())
                if stalled:
                    pause = STALL_PAUSE
                outage.ok()
            except StorageError as exc:  # locked, full or away: nothing is lost, try again soon
                pause = outage.failed(exc)
            await wait_event(wakeup, max(0.05, pause))

    async def _deliver(self, delivery: Delivery, stalled: list[bool]) -> bool:
        """One attempt (unless the channel went away or stalled meanwhile); True if made."""
        sender = self.senders[delivery.channel]
        async with self.limits[delivery.channel]:
            if delivery.channel in self.gone or stalled:
                return False  # disabled or stalling while this one waited for its turn
            try:
                await sender.send(self.link(delivery.alert), recipients=delivery.recipients)
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
                await self._settle(delivery, now, error=str(exc), retry_at=now)
                return True
            except DeliveryError as exc:
                if isinstance(exc, DeliveryTimeout):
                    stalled.append(True)
                await self._failed(delivery, exc)
                return True
            await self._settle(delivery, self.clock())
            log.info("deliver hit=%s channel=%s delivered", delivery.alert.id, delivery.channel)
            return True

    async def _settle(
        self,
        delivery: Delivery,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        remaining: Sequence[str] | None = None,
    ) -> None:
        """Record an attempt that was made. While the database is away (a restart, another
        process's write lock, a full disk) the record is tried again with backoff until it is
        written or the daemon stops (the outage is logged): a sent alert whose record gave up
        was sent again by the next round, under the same id (a lock held for 40 s did it; on
        PostgreSQL, after the row's lease), and a full disk repeated it every round."""
        outage = Outage(f"record of hit={delivery.alert.id} channel={delivery.channel}")
        while True:
            try:
                self._record(delivery, now, error=error, retry_at=retry_at, remaining=remaining)
            except StorageError as exc:
                await asyncio.sleep(outage.failed(exc))
                continue
            outage.ok()
            return

    def _record(
        self,
        delivery: Delivery,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        remaining: Sequence[str] | None = None,
    ) -> None:
        """One attempt, in the outbox table the delivery came from."""
        if delivery.event:
            self.storage.record_health_delivery(delivery.id, now, error=error, retry_at=retry_at)
        else:
            self.storage.record_delivery(
                delivery.id, now, error=error, retry_at=retry_at, remaining=remaining
            )

    async def _failed(self, delivery: Delivery, exc: DeliveryError) -> None:
        now = self.clock()
        attempts = delivery.attempts + 1
        retry_at = next_retry(now, attempts, self.schedule) if exc.retryable else None
        await self._settle(delivery, now, error=str(exc), retry_at=retry_at,
                           remaining=exc.remaining)  # fmt: skip
        if retry_at is None:
            log.error(
                "deliver hit=%s channel=%s failed for good after %s: %s",
                delivery.alert.id,
                delivery.channel,
                f"{attempts} attempt{'' if attempts == 1 else 's'}",
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


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)
