"""``monitor datasette-metadata``: print Datasette metadata for the configured database."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._cli_common import config_of
from ._datasette import metadata_for
from ._redact import redact_url
from ._storage import unsupported


def register(sub: Any) -> None:
    meta = sub.add_parser(
        "datasette-metadata",
        help="print Datasette metadata (canned queries) for the configured database",
        description="Prints the shipped Datasette metadata (today's hits, broken feeds, "
        "failed and pending deliveries, hit search) keyed by the configured database's name. "
        "Use: monitor datasette-metadata > metadata.json && "
        "datasette monitor.db --metadata metadata.json",
    )
    meta.set_defaults(func=cmd_datasette_metadata)


def cmd_datasette_metadata(args: argparse.Namespace) -> int:
    config = config_of(args)
    if config.settings.dsn is not None:
        unsupported(redact_url(config.settings.dsn), "Datasette metadata")
    data = metadata_for(config.settings.database)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return 0
