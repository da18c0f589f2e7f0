"""One daemon per database: an exclusive ``flock`` on ``<database>.lock``, held while running."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ._errors import LockedError, StorageError


class DatabaseLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self.fd: int | None = None

    def __enter__(self) -> DatabaseLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            message = f"{self.path}: cannot create the lock file: {exc.strerror}"
            raise StorageError(message) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(
                f"{self.path.with_suffix('')}: another monitor (pid {holder}) "
                "is already running on this database"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock; the file stays for the next run
            self.fd = None
