"""The judge pages on PostgreSQL, where workers on one host share one ``[feedback] listen``
address: whichever worker binds it first serves the pages (every link works against the
shared database, whoever serves it); a worker that finds the address in use logs one WARNING,
does all its other work, and tries again every :func:`retry_every`, so that when the serving
worker stops or dies another takes the pages over."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ._config import Config
from ._errors import AddressInUseError, MonitorError
from ._judge_server import JudgeServer, judge_server

log = logging.getLogger(__name__)

RETRY_CAP = 60.0  # seconds: a worker tries to take the pages over at least this often


def judge_pages(config: Config, pickup: float, *, shared: bool) -> JudgeServer | FleetPages | None:
    """The judge pages ``[feedback]`` asks for (not started), or None without it; ``shared``
    (PostgreSQL): pages another worker on this host may serve already (see the module's
    note). Alone (SQLite: one daemon per database), an address in use stops the daemon."""
    cfg = config.feedback
    if cfg is None or cfg.secret is None:
        return None
    if not shared:
        return judge_server(config, pickup)

    def make() -> JudgeServer:
        server = judge_server(config, pickup)
        assert server is not None  # [feedback] with its secret, as checked above
        return server

    host, port = cfg.listen
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return FleetPages(make, address, retry_every(config.settings.lease))


def retry_every(lease: float) -> float:
    """How often a worker tries the address again: as soon as a dead worker's feeds are
    taken over (its ``lease``), at least every minute."""
    return min(RETRY_CAP, lease)


class FleetPages:
    """The judge pages ``make`` serves on ``address``, when this worker can bind it."""

    def __init__(self, make: Callable[[], JudgeServer], address: str, every: float) -> None:
        self.make = make
        self.address = address  # "host:port", for the log
        self.every = every
        self.server: JudgeServer | None = None
        self._warned = False
        self._retry: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Serve, or warn and try again later; another error (no such address, no
        permission) stops the worker at start, as without a fleet."""
        self._bind(first=True)

    def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _bind(self, *, first: bool = False) -> None:
        self._retry = None
        try:
            server = self.make()
        except AddressInUseError:
            if not self._warned:
                log.warning(
                    "feedback pages: %s in use — another worker serves them; this worker will "
                    "retry (every %g s)",
                    self.address,
                    self.every,
                )
                self._warned = True
            self._later()
            return
        except MonitorError as exc:
            if first:
                raise
            log.error("feedback pages: %s; this worker will retry", exc)
            self._later()
            return
        self.server = server
        server.start()
        if self._warned:
            log.info("feedback pages: %s was free: this worker serves them now", self.address)

    def _later(self) -> None:
        loop = asyncio.get_running_loop()
        self._retry = loop.call_later(self.every, self._bind)
