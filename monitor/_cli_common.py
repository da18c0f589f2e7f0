"""What the commands added by issue 13 share with ``_cli``: the config, the database, formats."""

from __future__ import annotations

import argparse

from ._config import Config, load_config
from ._errors import MonitorError
from ._storage import Storage

FORMATS = ["table", "json", "csv"]


def config_of(args: argparse.Namespace) -> Config:
    """The config without its secrets: these commands send nothing."""
    return load_config(args.config, secrets=False)


def open_storage(args: argparse.Namespace, *, create: bool = False) -> Storage:
    """The configured database; unless ``create``, it must exist already."""
    config = config_of(args)
    if not create and not config.settings.database.exists():
        raise MonitorError(
            f"{config.settings.database}: no database yet; run `monitor once` "
            "or `monitor run` first"
        )
    return Storage(config.settings.database)
