"""The commands of issue 13, registered on ``_cli``'s parser in one call."""

from __future__ import annotations

from typing import Any

from . import (
    _cli_atom,
    _cli_completion,
    _cli_datasette,
    _cli_init,
    _cli_migrate,
    _cli_opml,
    _cli_search,
)


def register(sub: Any) -> None:
    _cli_search.register(sub)
    _cli_datasette.register(sub)
    _cli_opml.register(sub)
    _cli_init.register(sub)
    _cli_atom.register(sub)
    _cli_completion.register(sub)
    _cli_migrate.register(sub)  # issue 12
