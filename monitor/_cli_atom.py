"""``monitor atom``: the recent hits as an Atom feed, to stdout or a file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._cli_common import config_of, open_storage
from ._cli_outfile import write_file
from ._cli_removed import check_history_topic
from ._cli_types import output_file, positive, since
from ._feedset import named_as_configured
from ._times import utcnow


def register(sub: Any) -> None:
    atom = sub.add_parser(
        "atom",
        help="write the recent hits (of one topic) as an Atom feed for any feed reader",
        description="Writes an Atom 1.0 feed of the newest hits. With --output the file is "
        "replaced atomically, so a web server can serve it while it is rewritten (run it from "
        "cron or a systemd timer); a symbolic link there is followed and kept.",
    )
    atom.add_argument("--topic", help="only this topic's hits (default: every topic)")
    atom.add_argument("--output", type=output_file, help="file to write (default, or -: stdout)")
    atom.add_argument("--limit", type=positive, default=50, help="entries (default 50)")
    atom.add_argument("--since", type=since, help="only hits detected since, e.g. 7d")
    atom.add_argument("--self-url", help="the URL the feed will be served at (rel=self)")
    atom.set_defaults(func=cmd_atom)


def cmd_atom(args: argparse.Namespace) -> int:
    config = config_of(args)
    topics = [t.name for t in config.topics]
    storage = open_storage(args)
    try:
        check_history_topic(args.topic, topics, storage)  # a removed topic's: its history
        hits = named_as_configured(  # a feed renamed in the config: its name now, unwritten
            config.feeds,
            storage.hit_entries(topic=args.topic, since=args.since, limit=args.limit),
        )
    finally:
        storage.close()
    from ._atom_out import hits_feed

    title = f"monitor: {args.topic or ', '.join(topics)}"
    key = f"{config.settings.database}:{args.topic or '*'}"
    data = hits_feed(hits, title=title, feed_key=key, now=utcnow(), self_url=args.self_url)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    write_file(args.output, data, new_mode=0o644)  # a new feed: for the web server to read
    print(f"wrote {len(hits)} hits to {args.output}", file=sys.stderr)
    return 0
