"""``monitor search "query"``: full-text search over the stored items and hits."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._cli_common import FORMATS, open_storage
from ._output import render

SEARCH_COLUMNS = ("item_id", "published", "score", "topic", "feed", "title", "hits")


def register(sub: Any) -> None:
    search = sub.add_parser(
        "search",
        help="full-text search over stored items (title, summary), best match first",
        description='QUERY is SQLite FTS5 syntax: words (all must match), "a phrase", '
        "OR, NOT, prefix*, title:word. Words are stemmed: talks finds talk.",
    )
    search.add_argument("query")
    search.add_argument("--topic", help="only items of this topic (best score or a hit)")
    search.add_argument("--hits-only", action="store_true", help="only items that are hits")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--format", choices=FORMATS, default="table")
    search.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    try:
        rows = storage.search(
            args.query, topic=args.topic, hits_only=args.hits_only, limit=args.limit
        )
    finally:
        storage.close()
    sys.stdout.write(render(rows, args.format, SEARCH_COLUMNS))
    return 0
