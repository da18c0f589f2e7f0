"""The ``monitor`` command's entry point: the CLI, imported here so that a Ctrl-C while its
modules load (they take a few tenths of a second: the relevance model's libraries) ends the
command quietly, as a Ctrl-C later does, not with a traceback of the imports."""

from __future__ import annotations


def main() -> int:
    try:
        from ._cli import main as cli

        return cli()  # (a Ctrl-C while it reads the arguments, before its own handler)
    except KeyboardInterrupt:
        return 130  # 128 + SIGINT, as the shell reports an interrupted command
