"""Writing a command's output file (``monitor atom --output``, ``monitor opml export FILE``):
replaced atomically, through a symbolic link.

The document goes to a temporary file beside the file it replaces, then is renamed over it:
a reader (a web server serving the feed) sees the old document or the new one, never half of
one. A symbolic link at the path is followed (to its end, a chain of links included), so the
link stays and the file it leads to is replaced; a dangling link's target is made. A file
replaced keeps its mode and, when this user may give it, its owner and group; a new file gets
``new_mode``, else what the umask leaves of 0666, as any file the user makes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from ._errors import MonitorError


def write_file(path: Path, data: bytes, *, new_mode: int | None = None) -> None:
    """``data`` to ``path`` (see the module), or :class:`MonitorError` naming the path, the
    file its link leads to, and why."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.is_symlink():  # realpath stops, without an error, in a loop of links
        raise MonitorError(f"{path}: cannot write: a loop of symbolic links")
    try:
        _replace(target, data, new_mode)
    except OSError as exc:
        raise cannot_write(path, exc, target) from None


def _replace(target: Path, data: bytes, new_mode: int | None) -> None:
    try:
        old: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old = None
    # readable by no one else until it has its mode, but for a new file made as the umask says
    fd, tmp = _temporary(target, 0o666 if old is None and new_mode is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the new document is on disk before it is the file
            if old is not None:
                _keep_owner(handle.fileno(), old)
                os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
            elif new_mode is not None:
                os.fchmod(handle.fileno(), new_mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _temporary(target: Path, mode: int) -> tuple[int, Path]:
    """A new file beside ``target`` (``.NAME.RANDOM``), made ``mode`` less the umask."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def _keep_owner(fd: int, old: os.stat_result) -> None:
    """The replaced file's owner and group (root may give both; a user, a group of theirs);
    left as made when this user may give neither."""
    made = os.fstat(fd)
    if (made.st_uid, made.st_gid) == (old.st_uid, old.st_gid):
        return
    for uid in (old.st_uid, -1):
        with contextlib.suppress(PermissionError):
            os.fchown(fd, uid, old.st_gid)
            return


def cannot_write(path: Path, exc: OSError, target: Path | None = None) -> MonitorError:
    """Why an output file (``--output``, ``opml export FILE``) cannot be written, naming where
    a link at ``path`` leads (``target``). A missing folder is named, never made: a mistyped
    path must not publish somewhere nobody looks."""
    target = target or path
    where = f"{path}: cannot write"
    if target != path:
        where += f" {target} (where the link leads)"
    if isinstance(exc, FileNotFoundError) and not target.parent.is_dir():
        return MonitorError(f"{where}: the folder {target.parent} does not exist")
    return MonitorError(f"{where}: {exc.strerror or exc}")
