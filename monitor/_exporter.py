"""The daemon's HTTP endpoint for operations: ``/metrics`` (Prometheus) and ``/healthz``.

A small threaded HTTP server on the configured address (``[monitor] metrics``), in a daemon
thread beside the event loop. ``/healthz`` answers 200 while the event loop is responsive (a
heartbeat task ticks every second) and 503 when it has not ticked for ``STALL_SECONDS``, with a
JSON body either way. Nothing secret is ever served: counts, times and statuses only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._config import Config
from ._errors import ConfigError, MonitorError

log = logging.getLogger(__name__)

STALL_SECONDS = 30.0
HEARTBEAT_SECONDS = 1.0


class Exporter:
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
        try:
            self.server = _Server(address, _Handler, self)
        except OSError as exc:
            raise MonitorError(
                f"{config.path}: monitor.metrics: cannot listen on "
                f"{address[0]}:{address[1]}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._heart: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        self._heart = asyncio.create_task(self._heartbeat(), name="heartbeat")
        log.info("metrics at http://%s:%d/metrics, health at /healthz", *self.address)

    def stop(self) -> None:
        if self._heart is not None:
            self._heart.cancel()
        self.server.shutdown()
        self.server.server_close()

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any, owner: Exporter) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    _body = True

    def do_HEAD(self) -> None:  # uptime checkers and load balancers: the status alone
        self.do_GET(with_body=False)

    def do_GET(self, *, with_body: bool = True) -> None:
        self._body = with_body
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            self._send(
                200, CONTENT_TYPE_LATEST, generate_latest(self.server.owner.metrics.registry)
            )
        elif path == "/healthz":
            status, body = self.server.owner.health()
            self._send(status, "application/json", json.dumps(body).encode() + b"\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self._body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass
