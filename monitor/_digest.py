"""Email digests through the outbox (``[alerts.email] mode = "digest"``).

Hits queue an ``email`` delivery as always; in digest mode the per-hit deliverer leaves them
alone, and this one sends, at each schedule slot, one message with every pending email
delivery, then records them all delivered in one transaction. Nothing is lost (a failed send
leaves them pending, retried on the retry schedule) and nothing is sent twice unless a crash
falls between the send and its record (the resend has the same ``Message-ID``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, MutableMapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._alerts import EmailSender
from ._config import Config, EmailConfig
from ._decide import next_retry
from ._digest_plan import digest_due, digest_id, digest_message, may_send
from ._digest_quiet import quiet_until
from ._errors import DeliveryError, StorageError
from ._judge import linker, unlinked
from ._models import Alert
from ._outage import Outage
from ._storage import Delivery, Store
from ._times import utcnow

log = logging.getLogger(__name__)

CHANNEL = "email"
IDLE_CHECK = 5.0  # seconds between looks when nothing is pending (two small queries)
BATCH = 1000  # hits in one digest at most (the rest go in the next)
HOLD_MARGIN = 60.0  # seconds past the send's timeout before another worker takes a digest


class DigestDeliverer:
    """``hold`` (several workers): a digest being sent is held that long (its rows' next
    attempt), so that no other worker takes it for one tried before while it is in flight, even
    if this worker's database session, and the lock with it, is lost meanwhile."""

    def __init__(
        self,
        storage: Store,
        sender: EmailSender,
        cfg: EmailConfig,
        schedule: tuple[float, ...],
        *,
        hold: float = 0.0,
        link: Callable[[Alert], Alert] = unlinked,
    ) -> None:
        self.storage = storage
        self.link = link  # [feedback]: each hit carries its judge links
        self.sender = sender
        self.cfg = cfg
        self.schedule = schedule
        self.hold = hold
        self._unrecorded: tuple[str, list[int], datetime] | None = None  # sent, not yet stored

    def due_at(self) -> datetime | None:
        """When the next digest goes out; ``None`` when nothing waits."""
        return next_digest(self.storage, self.cfg)

    async def deliver_if_due(self, now: datetime | None = None) -> int:
        """Send the digest if its time has come; return how many hits it carried. With
        several workers (PostgreSQL) one sends it; the others find it sent."""
        now = now or utcnow()
        if self._unrecorded is not None:  # sent while the database was away: stored first
            self.storage.record_digest(*self._unrecorded)
            log.info("digest %s recorded", self._unrecorded[0])
            self._unrecorded = None
        if not may_send(now, self.due_at(), self.cfg):  # not yet, or in the quiet hours
            return 0
        with self.storage.digest_lock() as mine:
            return await self._deliver(now) if mine else 0

    async def _deliver(self, now: datetime) -> int:
        if not may_send(now, self.due_at(), self.cfg):  # sent by another worker meanwhile
            return 0
        tried = self.storage.tried_digest(CHANNEL)
        if tried is not None:  # a digest tried before (refused, or the process died sending
            # it) goes again as it was, whole, under its Message-ID; what came since waits
            ident, _, size = tried
            pending = self.storage.digest_deliveries(CHANNEL, ident, now, limit=None)
            if len(pending) < size:  # not all of it due yet (rows stored under an older rule)
                return 0
            ident = digest_id([d.alert.id for d in pending])  # (`redeliver` took hits out of
            # it: other hits, other id)
        else:
            pending = self.storage.digest_deliveries(CHANNEL, None, now, limit=BATCH)
            ident = digest_id([d.alert.id for d in pending])
        if not pending:
            return 0
        ids = [d.id for d in pending]
        until = now + timedelta(seconds=self.hold) if self.hold else None
        self.storage.mark_digest(ids, ident, until)
        try:
            message = digest_message(
                [self.link(d.alert) for d in pending], self.cfg, ident=ident, now=now
            )
            await self.sender.send_message(message, recipients=_owed(pending))
        except (DeliveryError, ValueError) as exc:
            retryable = not isinstance(exc, DeliveryError) or exc.retryable
            # one retry for the whole digest (its rows may have been tried apart before), to
            # the recipients the server refused only (the others have it)
            remaining = exc.remaining if isinstance(exc, DeliveryError) else None
            attempts = max(d.attempts for d in pending) + 1
            retry_at = next_retry(now, attempts, self.schedule) if retryable else None
            for delivery in pending:
                self.storage.record_delivery(
                    delivery.id, now, error=str(exc), retry_at=retry_at, remaining=remaining
                )
            if retry_at is None:
                log.error(
                    "digest %s of %s failed for good after %s: %s "
                    "(`monitor redeliver` queues them again)",
                    ident, _count(len(ids), "hit"), _count(attempts, "attempt"), exc,
                )  # fmt: skip
            else:
                log.warning("digest of %s not sent: %s", _count(len(ids), "hit"), exc)
            return 0
        sent_at = utcnow()
        try:
            self.storage.record_digest(ident, ids, sent_at)
        except StorageError as exc:  # (held meanwhile: no other worker sends it again)
            self._unrecorded = (ident, ids, sent_at)
            log.error("digest %s sent, not yet recorded: %s (recorded when it is back)", ident, exc)
            return len(ids)
        log.info("digest %s sent: %s", ident, _count(len(ids), "hit"))
        return len(ids)

    async def run(self) -> None:
        """Send digests for ever, waking at each slot (and every few seconds when idle)."""
        outage = Outage("digests")  # one ERROR, a WARNING a minute, INFO when back
        while True:
            sent = 0
            try:
                sent = await self.deliver_if_due()
                due = self.due_at()
            except StorageError as exc:
                await asyncio.sleep(min(IDLE_CHECK, outage.failed(exc)))
                continue
            outage.ok()
            wait = IDLE_CHECK
            if due is not None:  # (nothing sent at a due time: no tight loop, look again soon)
                wait = min(IDLE_CHECK, max(0.05 if sent else 1.0, (due - utcnow()).total_seconds()))
            await asyncio.sleep(wait)


def _owed(pending: Sequence[Delivery]) -> list[str] | None:
    """Whom a digest goes to: the recipients its rows are still owed to (a retry after some
    refused it for now), or every recipient (None) when any row is owed to all."""
    if any(d.recipients is None for d in pending):
        return None
    return sorted({r for d in pending for r in d.recipients or ()})


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def next_digest(storage: Store, cfg: EmailConfig) -> datetime | None:
    """When the next digest goes out (``None`` when nothing waits): a digest tried before
    goes again at its retry time, alone; else the pending hits at their slot."""
    tried = storage.tried_digest(CHANNEL)
    if tried is not None and tried[1] is not None:  # its retry, out of the quiet hours
        return quiet_until(tried[1], cfg.quiet_hours, cfg.timezone) or tried[1]
    if tried is not None:
        return None
    oldest = storage.oldest_pending(CHANNEL)
    if oldest is None:
        return None
    return digest_due(oldest, storage.last_digest(), None, cfg)


def digest_times(
    storage: Store, cfg: EmailConfig, now: datetime
) -> tuple[str | None, datetime | None, datetime | None]:
    """For reports: ``(the digest tried before, when it goes again, when the next new digest
    goes)``. Hits in no digest wait for the slot after the tried one, if there is one."""
    tried = storage.tried_digest(CHANNEL)
    if tried is None:
        return None, None, next_digest(storage, cfg)
    at = next_digest(storage, cfg)
    oldest = storage.oldest_pending(CHANNEL)
    after = max(at, now) if at is not None else now
    return tried[0], at, digest_due(oldest, after, None, cfg) if oldest is not None else None


def take_digest(
    config: Config, storage: Store, senders: MutableMapping[str, Any], *, several: bool = False
) -> DigestDeliverer | None:
    """In digest mode, take the email sender away from the per-hit deliverer (the outbox still
    queues ``email`` rows) and hand it to a :class:`DigestDeliverer`; ``several``: other
    workers send digests too (PostgreSQL)."""
    if config.email is None or config.email.mode != "digest":
        return None
    sender = senders.pop(CHANNEL)
    assert isinstance(sender, EmailSender)
    hold = config.email.timeout + HOLD_MARGIN if several else 0.0
    return DigestDeliverer(
        storage,
        sender,
        config.email,
        config.retry_schedule,
        hold=hold,
        link=linker(config.feedback),
    )
