"""The one exception tree of the project.

Every error that the monitor raises on purpose is a :class:`MonitorError`::

    MonitorError
    ├── ConfigError          a config file that cannot be read or is invalid (names file and key)
    ├── StorageError         the database cannot be opened, is corrupt, locked or full
    │   ├── BusyError        a lock another session held outlasted this connection's wait
    │   ├── LockedError      another daemon holds the database
    │   ├── DatabaseReplacedError  the database file was deleted or replaced while in use
    │   └── UnsupportedError  a feature the chosen backend (PostgreSQL) does not have yet
    ├── FetchError           one feed could not be fetched (recorded on the feed, never fatal)
    ├── ParseError           one feed body could not be parsed (recorded on the feed, never fatal)
    └── DeliveryError        one alert could not be delivered (retried per the schedule)
        ├── DeliveryTimeout     one attempt hit its total deadline (the channel is stalling)
        └── EndpointGoneError   the receiver answered 410 Gone: stop sending to it

Errors from libraries (httpx, sqlite3, psycopg, smtplib, feedparser) are translated into this
tree once, at the boundary where they occur (the fetcher, the storage layer, the senders).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is unreadable or invalid.

    The message names the file, the key and what was expected.
    """


class AddressInUseError(MonitorError):
    """An address to listen on (``/metrics``, the judge pages) is taken by another process."""


class StorageError(MonitorError):
    """The database cannot be used (corrupt, unreadable, locked, disk full)."""


class BusyError(StorageError):
    """Another session or process held a lock for longer than this connection waits (SQLite's
    busy timeout; PostgreSQL's ``lock_timeout`` or ``statement_timeout`` where one is set): the
    transaction was rolled back, nothing was written, and trying again later can succeed."""


class LockedError(StorageError):
    """Another daemon already runs on this database."""


class DatabaseReplacedError(StorageError):
    """The database file was deleted or replaced while in use: the daemon stops."""


class UnsupportedError(StorageError):
    """A feature the chosen storage backend does not have yet; the message names both."""


MAX_MESSAGE = 200  # a FetchError's message is cut to this many characters (one log line)


class FetchError(MonitorError):
    """A feed could not be fetched. ``retry_after`` is a server-imposed wait in seconds."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(MonitorError):
    """A feed body could not be parsed at all (nothing recoverable)."""


class DeliveryError(MonitorError):
    """An alert could not be delivered; ``retryable`` says whether trying again can help."""

    def __init__(
        self, message: str, *, retryable: bool = True, remaining: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.remaining = remaining  # recipients still owed the alert (None: all of them)


class DeliveryTimeout(DeliveryError):
    """One attempt did not finish within its total deadline: the channel is stalling, so its
    other alerts wait for the next round rather than queue behind it."""


class EndpointGoneError(DeliveryError):
    """The receiver answered 410 Gone: the endpoint is disabled."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
