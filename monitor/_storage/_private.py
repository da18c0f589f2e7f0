"""The SQLite files are private (mode 0600): they hold alert recipients, webhook and feed URLs
with their tokens. A new file is created so; one brought from elsewhere (a backup restored with
``cp`` or ``tar`` under a umask of 022) is made so when it is opened."""

from __future__ import annotations

import logging
import os
import stat
from contextlib import suppress
from pathlib import Path

log = logging.getLogger(__name__)

_OTHERS = 0o077  # group and others: no access to any of the files


def create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), if it does not exist (in
    a folder that does: see ``check_database_folder``)."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_private(path: Path) -> None:
    """Take group's and others' access away from the database and its ``-wal`` and ``-shm``
    files (0644 becomes 0600), those this process owns: one WARNING naming the files and their
    modes. Before the connection is made, so that SQLite gives a new ``-wal`` or ``-shm`` the
    file's private mode. A mode that cannot be changed is warned of, and the file used."""
    changed: list[str] = []
    failed: list[str] = []
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            st = file.stat()
        except OSError:  # none there (no log yet), or not ours to look at: SQLite will say
            continue
        mode = stat.S_IMODE(st.st_mode)
        if not mode & _OTHERS or st.st_uid != os.geteuid():
            continue
        try:
            os.chmod(file, mode & ~_OTHERS)
        except OSError as exc:
            failed.append(f"{file} (mode {mode:04o}: {exc.strerror or exc})")
            continue
        changed.append(f"{file} (was {mode:04o}, now {mode & ~_OTHERS:04o})")
    if changed:
        log.warning(
            "database files readable by other users made private: %s; they hold alert "
            "recipients and webhook URLs (see README, Backups)",
            ", ".join(changed),
        )
    if failed:
        log.warning(
            "database files readable by other users could not be made private: %s; "
            "restrict them yourself (chmod 600)",
            ", ".join(failed),
        )
