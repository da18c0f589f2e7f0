"""The schema version rules both backends apply: a newer schema is refused; an older one is
migrated by the daemon (``run``, ``once``) and refused by the commands that only read."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def refuse_version(version: int, current: int, *, migrates: bool) -> None:
    """ValueError when this monitor (schema ``current``) cannot use a schema of ``version``."""
    if version > current:
        raise ValueError(
            f"schema version {version} is newer than this monitor understands ({current}); "
            "upgrade monitor"
        )
    if version < current and not migrates:
        raise ValueError(
            f"schema version {version} is older than this monitor's ({current}); run "
            "`monitor once` or `monitor run` to migrate it (read-only commands never do)"
        )


def log_upgrade(where: str, old: int, new: int) -> None:
    """One INFO line when opening ``where`` upgraded its schema from ``old`` to ``new`` (a new
    database, version 0, is no upgrade): the operator sees that the file changed, and from
    what."""
    if 0 < old < new:
        log.info("database %s upgraded from schema %d to %d", where, old, new)
