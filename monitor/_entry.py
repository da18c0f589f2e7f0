"""The ``monitor`` command's entry point: the CLI, imported here so that a Ctrl-C while its
modules load (they take a few tenths of a second: the relevance model's libraries) ends the
command quietly, as a Ctrl-C later does, not with a traceback of the imports."""

from __future__ import annotations

import os
import signal
from types import FrameType

_INTERRUPTED = 130  # 128 + SIGINT, as the shell reports an interrupted command


def main() -> int:
    # While the modules load, a Ctrl-C ends the process at once: nothing has been done that
    # needs undoing, and a KeyboardInterrupt raised there can land in an import lock's
    # callback, where Python prints it ("Exception ignored in: …", a traceback) and goes on.
    default = signal.signal(signal.SIGINT, _quit)
    try:
        from ._cli import main as cli
    finally:
        signal.signal(signal.SIGINT, default)
    try:
        return cli()  # (a Ctrl-C while it reads the arguments, before its own handler)
    except KeyboardInterrupt:
        return _INTERRUPTED


def _quit(signum: int, frame: FrameType | None) -> None:
    os._exit(_INTERRUPTED)
