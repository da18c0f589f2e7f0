"""What the commands outside ``_cli`` share with it: the config, the database, formats."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ._config import Config, load_config
from ._errors import MonitorError
from ._storage import Store, open_store

FORMATS = ["table", "json", "csv"]


def config_of(args: argparse.Namespace) -> Config:
    """The config without its secrets: these commands send nothing."""
    return load_config(args.config, secrets=False)


def open_storage(args: argparse.Namespace, *, create: bool = False) -> Store:
    """The configured database; unless ``create``, it must exist already and is only read
    (never created nor migrated)."""
    return open_store(config_of(args), readonly=not create, must_exist=not create)


def check_topic(name: str | None, names: Sequence[str]) -> None:
    """MonitorError naming the configured topics when ``name`` (if given) is not one of them."""
    if name is not None and name not in names:
        raise MonitorError(f"no topic {name!r} in the config (topics: {', '.join(names)})")


def cut(rows: list[dict[str, Any]], limit: int, what: str) -> list[dict[str, Any]]:
    """The first ``limit`` of ``rows`` (read with one more than the limit), and a note on
    stderr when there were more: a listing cut short says so (a CSV export is not short
    without notice)."""
    if len(rows) <= limit:
        return rows
    print(f"monitor: showing the first {limit:,} {what}; more match (--limit N)", file=sys.stderr)
    return rows[:limit]
