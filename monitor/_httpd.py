"""The daemon's small HTTP endpoints (``/metrics`` and ``/healthz``, the judge pages): a
threaded stdlib server in a daemon thread beside the event loop, and a handler base that
answers ``HEAD`` as ``GET`` without the body and logs no request line of its own."""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._errors import AddressInUseError, MonitorError

log = logging.getLogger(__name__)


class Endpoint:
    """Listens on ``address`` from construction (``where`` names the config key in the error
    when it cannot: :class:`AddressInUseError` when another process listens there); serves
    from :meth:`serve` until :meth:`close`."""

    def __init__(self, address: tuple[str, int], handler: type[Handler], where: str) -> None:
        try:
            self.server = OwnedServer(address, handler, self)
        except OSError as exc:
            kind = AddressInUseError if exc.errno == errno.EADDRINUSE else MonitorError
            raise kind(
                f"{where}: cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        """``http://host:port`` (an IPv6 host in brackets), for the log."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class OwnedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the stdlib's 5 reset connections under a burst of clicks

    def __init__(self, address: tuple[str, int], handler: Any, owner: Endpoint) -> None:
        self.owner = owner
        if ":" in address[0]:  # an IPv6 address ("::1", "::")
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that failed (mostly a client that hung up: a closed tab, a timed-out
        probe): one debug line, not the stdlib's traceback on stderr amid the log lines."""
        log.debug("request from %s failed: %s", client_address[0], sys.exc_info()[1])


class Handler(BaseHTTPRequestHandler):
    server: OwnedServer
    _body = True  # False while answering HEAD

    def do_HEAD(self) -> None:  # uptime checkers, load balancers, link checkers
        self._body = False
        self.do_GET()

    def do_GET(self) -> None:
        self.send(404, "text/plain; charset=utf-8", b"not found\n")

    def send(
        self, status: int, kind: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # not news
        pass
