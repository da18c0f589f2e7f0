"""The Datasette metadata shipped with the package (canned queries, descriptions). Pure.

Datasette names a database after its file (``monitor.db`` → ``monitor``); the shipped file is
written for that name and :func:`metadata_for` re-keys it for another one.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED_NAME = "monitor"


def shipped_metadata() -> dict[str, Any]:
    text = resources.files("monitor").joinpath("datasette/metadata.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def metadata_for(database: Path) -> dict[str, Any]:
    """The shipped metadata with its database section under ``database``'s Datasette name."""
    data = shipped_metadata()
    section = data["databases"].pop(SHIPPED_NAME)
    data["databases"][database.stem] = section
    return data
