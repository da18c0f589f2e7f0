"""The daemon's HTTP endpoint for operations: ``/metrics`` (Prometheus) and ``/healthz``.

A small threaded HTTP server on the configured address (``[monitor] metrics``), in a daemon
thread beside the event loop (``_httpd``). ``/healthz`` answers 200 while the event loop is
responsive (a heartbeat task ticks every second) and 503 when it has not ticked for
``STALL_SECONDS``, with a JSON body either way. Nothing secret is ever served: counts, times
and statuses only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any

from ._config import Config
from ._errors import ConfigError
from ._httpd import Endpoint, Handler

log = logging.getLogger(__name__)

STALL_SECONDS = 30.0
HEARTBEAT_SECONDS = 1.0


class Exporter(Endpoint):
    def __init__(self, config: Config, last_success: datetime | None = None) -> None:
        address = config.settings.metrics
        assert address is not None
        try:
            from ._metrics import Metrics
        except ImportError:
            raise ConfigError(
                f"{config.path}: monitor.metrics: serving metrics needs prometheus-client; "
                "install it with pip install 'monitor[metrics]' or remove the key"
            ) from None
        self.metrics = Metrics(  # the database gauges read what the daemon uses
            config.settings.dsn or config.settings.database,
            None if last_success is None else last_success.timestamp(),
        )
        self.beat = time.monotonic()
        self.late = 0.0  # how late the last heartbeat woke
        self.started = time.time()
        super().__init__(address, _Handler, f"{config.path}: monitor.metrics")
        self._heart: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.serve()
        self._heart = asyncio.create_task(self._heartbeat(), name="heartbeat")
        log.info("metrics at %s/metrics, health at /healthz", self.base_url)

    def stop(self) -> None:
        if self._heart is not None:
            self._heart.cancel()
        self.close()

    def watch_poll(self, task: asyncio.Task[Any]) -> None:
        """Count a poll when its task finishes (a cancelled one is not counted)."""
        began = time.monotonic()

        def done(task: asyncio.Task[Any]) -> None:
            if task.cancelled() or task.exception() is not None:
                return
            report = task.result()
            self.metrics.observe_poll(
                report.status, report.new, report.hits, time.monotonic() - began
            )

        task.add_done_callback(done)

    async def _heartbeat(self) -> None:
        while True:
            now = time.monotonic()
            self.late = max(0.0, now - self.beat - HEARTBEAT_SECONDS)
            self.beat = now
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def health(self) -> tuple[int, dict[str, Any]]:
        stalled = time.monotonic() - self.beat
        last = self.metrics.last_success_time()
        body = {
            "status": "ok" if stalled < STALL_SECONDS else "stalled",
            "uptime_seconds": round(time.time() - self.started, 1),
            "event_loop_lag_seconds": round(loop_lag(stalled, self.late), 2),
            "last_success": None if last is None else round(last, 3),
        }
        return (200 if stalled < STALL_SECONDS else 503), body


def loop_lag(since_beat: float, late: float) -> float:
    """How far behind the event loop runs: the last heartbeat's lateness, or, while the next
    one is overdue, how overdue it is. Not the time since the last beat (0 to 1 s on an idle
    loop, as the beat ticks every second)."""
    return max(late, since_beat - HEARTBEAT_SECONDS, 0.0)


class _Handler(Handler):
    def do_GET(self) -> None:
        owner = self.server.owner
        assert isinstance(owner, Exporter)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            self.send(200, CONTENT_TYPE_LATEST, generate_latest(owner.metrics.registry))
        elif path == "/healthz":
            status, body = owner.health()
            self.send(status, "application/json", json.dumps(body).encode() + b"\n")
        else:
            self.send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")
