"""One monitor per database: an exclusive ``flock`` on the database file itself, held while
running.

The lock is on the file the data lives in, not on a side file that can be deleted out from
under a running daemon (which let a second one run beside it). SQLite's own locks are POSIX
record locks, independent of ``flock``; the descriptor stays open until the database is
closed, so closing it never drops SQLite's locks. ``<database>.lock`` tells the holder's
pid to a monitor that is refused; it is locked too, because releases before 29 Nov 2026 locked
it alone (an older daemon and a newer one would otherwise run side by side).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from ._errors import LockedError, StorageError


class DatabaseLock:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")  # the holder's pid, for users
        self.fd: int | None = None
        self.side: int | None = None  # the pid file, locked too (what older releases locked)

    def __enter__(self) -> DatabaseLock:
        try:
            fd = os.open(self.database, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            message = f"{self.database}: cannot use the database: {exc.strerror}"
            raise StorageError(message) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(
                f"{self.database}: another monitor (pid {self._holder()}) "
                "is already running on this database"
            ) from None
        self.fd = fd
        # Releases before 29 Nov 2026 locked the side file instead: one of them running on
        # this database holds it, and neither would see the other's lock.
        try:
            side = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            side = None  # informational only, unless an older monitor holds it
        if side is not None:
            try:
                fcntl.flock(side, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(side)
                self.__exit__(None, None, None)
                raise LockedError(
                    f"{self.database}: another monitor (pid {self._holder()}, an older "
                    "release) is already running on this database"
                ) from None
            with contextlib.suppress(OSError):
                os.ftruncate(side, 0)
                os.write(side, str(os.getpid()).encode())
        self.side = side
        return self

    def _holder(self) -> str:
        try:
            return self.path.read_text(errors="replace").strip()[:32] or "unknown"
        except OSError:
            return "unknown"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.side is not None:
            os.close(self.side)
            self.side = None
        if self.fd is not None:
            os.close(self.fd)  # releases the lock; called after the database is closed
            self.fd = None
