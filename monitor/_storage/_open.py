"""Open the configured backend: SQLite (a file) or PostgreSQL (``[monitor] database`` or
``database_env`` naming a ``postgresql://`` URL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

from .._config import Config
from .._errors import ConfigError, MonitorError, StorageError, UnsupportedError
from ._protocol import Store


def unsupported(where: str, feature: str) -> NoReturn:
    """A feature the PostgreSQL backend does not have yet: one message naming both."""
    raise UnsupportedError(
        f"{where}: {feature} is not supported by the PostgreSQL backend yet; "
        "use a SQLite database ([monitor] database = a file) for it"
    )


def uses_postgres(config: Config) -> bool:
    return config.settings.dsn is not None


def check_database_folder(config: Config) -> None:
    """The SQLite database path, checked as start, the writing commands, the reports and
    SIGHUP read it: a file (created 0600) in a folder that must exist (made on the way, a
    mistyped path would start an empty database where nobody looks); neither a folder itself
    nor under a file. ConfigError naming the config file, the key and what was expected."""
    if config.settings.dsn is not None:
        return
    path = config.settings.database
    where = f"{config.path}: monitor.database"
    if path.is_dir():
        raise ConfigError(
            f"{where}: {path} is a folder; expected a file path (the database file, e.g. "
            f"{path / 'monitor.db'})"
        )
    folder = path.parent
    if folder.is_dir():
        return
    found = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if found is not None and not found.is_dir():
        raise ConfigError(
            f"{where}: {found} is a file, not a folder; expected a file path in a folder "
            "(the database file is created, its folder is not): correct the path"
        )
    raise ConfigError(
        f"{where}: the folder {folder} does not exist (the database file is created, its "
        "folder is not); create it or correct the path"
    )


def open_store(
    config: Config, *, readonly: bool = False, must_exist: bool = False, wait: float | None = None
) -> Store:
    """The configured database. ``readonly`` (SQLite: opened ``mode=ro``, never created nor
    migrated); ``must_exist``: a missing SQLite file is an error, not a new database; else
    it is created. Either way the path is checked first (:func:`check_database_folder`).
    ``wait``: on PostgreSQL, the seconds a statement may wait for a lock (``lock_timeout``;
    it may run a second more, ``statement_timeout``) before it fails with
    :class:`BusyError` (None: no bound);
    SQLite waits its busy timeout (``BUSY_TIMEOUT_MS``) for a lock in any case."""
    dsn = config.settings.dsn
    if dsn is None:
        from . import Storage

        path = config.settings.database
        check_database_folder(config)  # a report too: "no database yet" would mislead
        if (readonly or must_exist) and not path.exists():
            raise MonitorError(
                f"{path}: no database yet; run `monitor once` or `monitor run` first"
            )
        return Storage(path, readonly=readonly)
    try:
        from ._postgres import PostgresStorage
    except ModuleNotFoundError as exc:  # psycopg is an optional extra
        if not (exc.name or "").startswith("psycopg"):
            raise
        raise StorageError(
            f"{config.path}: [monitor] names a PostgreSQL database but psycopg is not "
            f"installed ({exc}); install monitor[postgres]"
        ) from None
    lease = timedelta(seconds=config.settings.lease)
    return PostgresStorage(dsn, lease=lease, readonly=readonly, wait=wait)


def open_existing(config: Config) -> Store | None:
    """The configured database, read-only (as :func:`open_store` ``readonly``), or None when
    there is none yet: no SQLite file, no monitor tables in PostgreSQL. For a report that has
    something to say without one; it neither creates nor writes the database."""
    if config.settings.dsn is None:
        check_database_folder(config)  # a mistyped path stays a config error
        if not config.settings.database.exists():
            return None
        return open_store(config, readonly=True)
    try:
        return open_store(config, readonly=True)
    except StorageError as exc:
        from ._pg_schema import NO_TABLES

        if NO_TABLES in str(exc):
            return None
        raise


def stored_feedback(config: Config) -> list[dict[str, Any]]:
    """The judgements in the configured database, for ``classify``/``eval`` (which must not
    write): SQLite read-only (no file: none), PostgreSQL through the backend."""
    if config.settings.dsn is None:
        from ._queries import read_feedback

        return read_feedback(config.settings.database)
    store = open_existing(config)
    if store is None:  # no database yet: no judgements (as without a SQLite file)
        return []
    try:
        return store.feedback()
    finally:
        store.close()
