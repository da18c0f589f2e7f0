"""Prometheus metrics of a running daemon (``[monitor] metrics = "127.0.0.1:9464"``).

Counted in the process as polls finish: ``monitor_polls_total{status}``,
``monitor_items_total``, ``monitor_hits_total``, ``monitor_poll_duration_seconds`` (histogram),
``monitor_last_success_timestamp_seconds``. Read from the database at each scrape (so they are
right across restarts and include what ``monitor redeliver`` changed):
``monitor_alerts{channel,status}`` (the outbox by status), ``monitor_outbox_backlog`` (pending
deliveries), ``monitor_feeds{state}``, ``monitor_delivery_latency_seconds`` (histogram), from
the SQLite file or the PostgreSQL database the daemon uses. Needs the optional ``prometheus-client``
(``pip install 'monitor[metrics]'``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ._errors import StorageError
from ._storage import Gauges, read_delivery_latency, read_ops_counts

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0)
SUCCESS = ("ok", "not-modified", "unchanged")


class Metrics:
    def __init__(self, database: Path | str, last_success: float | None = None) -> None:
        """``database``: the SQLite file, or a PostgreSQL URL (a ``str``). ``last_success``:
        the stored time of the last successful poll, so that the gauge does not read 0 after
        a restart until the first poll (a staleness alert would fire on every deploy)."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome.", ["status"], registry=r)
        self.items = Counter("monitor_items", "New items stored.", registry=r)
        self.hits = Counter("monitor_hits", "Hits stored (item and topic).", registry=r)
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds",
            "Time of one feed poll: fetch, parse, score, store.",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "monitor_last_success_timestamp_seconds",
            "Unix time at which the last successful poll (any feed) finished.",
            registry=r,
        )
        self.started = Gauge(
            "monitor_start_time_seconds", "Unix time at which the daemon started.", registry=r
        )
        self.started.set(time.time())
        self._last_success = last_success
        if last_success is not None:
            self.last_success.set(last_success)
        r.register(_DatabaseCollector(database))
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(standard)  # memory, CPU, open files, Python version, GC

    def observe_poll(self, status: str, new: int, hits: int, seconds: float) -> None:
        self.polls.labels(status=status).inc()
        self.items.inc(new)
        self.hits.inc(hits)
        self.poll_seconds.observe(seconds)
        if status in SUCCESS:
            self._last_success = time.time()
            self.last_success.set(self._last_success)

    def last_success_time(self) -> float | None:
        return self._last_success


class _DatabaseCollector(Collector):
    """The outbox and the feeds, counted by a read-only query at each scrape."""

    def __init__(self, database: Path | str) -> None:
        self.database = database

    def _read(self) -> Gauges:
        if isinstance(self.database, str):
            from ._storage._pg_gauges import read_pg_gauges

            return read_pg_gauges(self.database, DELIVERY_BUCKETS)
        rows, states = read_ops_counts(self.database)
        return rows, states, read_delivery_latency(self.database, DELIVERY_BUCKETS)

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        alerts = GaugeMetricFamily(
            "monitor_alerts", "Alerts in the outbox by channel and status.",
            labels=["channel", "status"],
        )  # fmt: skip
        backlog = GaugeMetricFamily(
            "monitor_outbox_backlog", "Deliveries waiting to be sent (pending)."
        )
        feeds = GaugeMetricFamily(
            "monitor_feeds", "Feeds by state: active, paused, failing (last poll failed).",
            labels=["state"],
        )  # fmt: skip
        try:
            rows, states, (counts, total, delivered) = self._read()
        except StorageError:
            return  # no database yet, or busy for longer than the timeout: no sample
        pending = 0
        for channel, status, count in rows:
            alerts.add_metric([channel, status], count)
            pending += count if status == "pending" else 0
        backlog.add_metric([], pending)
        for state, count in states.items():
            feeds.add_metric([state], count)
        yield alerts
        yield backlog
        yield feeds
        bounds = [str(b) for b in DELIVERY_BUCKETS]
        yield HistogramMetricFamily(
            "monitor_delivery_latency_seconds",
            "Delivered alerts: time from the hit's detection to the receiver's acceptance "
            "(all delivered alerts in the database; a digest's wait included).",
            buckets=[*zip(bounds, counts, strict=True), ("+Inf", delivered)],
            sum_value=total,
        )
