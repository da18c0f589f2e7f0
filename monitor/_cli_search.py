"""``monitor search "query"``: full-text search over the stored items and hits."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._cli_common import FORMATS, check_topic, config_of, cut, open_storage
from ._cli_types import positive
from ._feedset import named_as_configured
from ._output import render

SEARCH_COLUMNS = ("item_id", "published", "score", "topic", "feed", "title", "hits")


def register(sub: Any) -> None:
    search = sub.add_parser(
        "search",
        help="full-text search over stored items (title, summary), best match first",
        description='QUERY: words (all must match), "a phrase", AND, OR, NOT, (…), prefix*, '
        "title:word (SQLite's FTS5 syntax; PostgreSQL reads the same). Words are stemmed: "
        "talks finds talk.",
    )
    search.add_argument("query")
    search.add_argument("--topic", help="only items of this topic (best score or a hit)")
    search.add_argument("--hits-only", action="store_true", help="only items that are hits")
    search.add_argument("--limit", type=positive, default=50, help="at most N (N >= 1; default 50)")
    search.add_argument("--format", choices=FORMATS, default="table")
    search.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    try:
        # a topic renamed or removed since still has its stored items: it may be searched
        known = [t.name for t in config_of(args).topics]
        check_topic(args.topic, [*known, *(t for t in storage.stored_topics() if t not in known)])
        rows = storage.search(
            args.query, topic=args.topic, hits_only=args.hits_only, limit=args.limit + 1
        )
    finally:
        storage.close()
    rows = named_as_configured(config_of(args).feeds, cut(rows, args.limit, "items"))
    if args.format != "table":  # a list of hit ids, as `hits` lists deliveries
        for row in rows:
            row["hits"] = (row["hits"] or "").split()
    sys.stdout.write(render(rows, args.format, SEARCH_COLUMNS))
    return 0
