"""The outbox on SQLite: due rows are read as they are (one process per file, under its lock);
the rest is :class:`~monitor._storage._outbox_shared.SharedOutboxMixin`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .._times import iso
from ._base import StorageBase
from ._outbox_shared import DELIVERY_COLUMNS, SharedOutboxMixin, delivery_from
from ._rows import Delivery


class OutboxMixin(StorageBase, SharedOutboxMixin):
    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]:
        among, params = self.dialect.among("d.channel", channels)
        rows = self._read(
            f"SELECT {DELIVERY_COLUMNS} LEFT JOIN channels c ON c.name = d.channel "
            f"WHERE d.status = 'pending' AND d.next_attempt <= ? AND {among} "
            "AND c.disabled_at IS NULL ORDER BY d.next_attempt, d.id LIMIT ?",
            (iso(now), *params, limit),
        )
        return [delivery_from(row) for row in rows]

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: one process per file (its lock); ``monitor redeliver`` from
        another process is found by the deliverer's look at the outbox (``outbox_poll``)."""
