"""``monitor opml import|export``: the feed list as OPML (Miniflux, FreshRSS, …).

An import adds feeds to the database as ``monitor feeds add`` does (``source = 'cli'``); an
export writes every feed, the config's and the added ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._cli_common import config_of, open_storage
from ._cli_feeds import PICKUP, in_config, open_feeds
from ._cli_outfile import write_file
from ._durations import format_duration, parse_duration
from ._errors import MonitorError
from ._feedset import FeedRow, default_name, find, key
from ._output import clean
from ._progress import Progress
from ._redact import redact_text
from ._storage import uses_postgres
from ._times import utcnow
from ._urls import FeedUrlError, canonical_feed_url


def register(sub: Any) -> None:
    opml = sub.add_parser("opml", help="import or export the feed list as OPML")
    verbs = opml.add_subparsers(dest="opml_verb", metavar="VERB", required=True)
    imp = verbs.add_parser("import", help="add the feeds of an OPML file (Miniflux, FreshRSS…)")
    imp.add_argument("file", help="OPML file, or - for stdin")
    imp.set_defaults(func=cmd_opml_import)
    exp = verbs.add_parser("export", help="write every feed (config and added) as OPML 2.0")
    exp.add_argument("file", nargs="?", default="-", help="output file (default: stdout)")
    exp.set_defaults(func=cmd_opml_export)


def _interval(written: str | None) -> float | None:
    """A feed's own polling interval in seconds (None: the default); ValueError if bad."""
    if written is None:
        return None
    interval = parse_duration(written)
    if interval < 1:
        raise ValueError(f"must be at least 1s, got {written!r}")
    return interval


def cmd_opml_import(args: argparse.Namespace) -> int:
    from ._opml import parse_opml

    name = "stdin" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise MonitorError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        opml = parse_opml(data)
    except MonitorError as exc:
        raise MonitorError(f"{name}: {exc}") from None
    config, storage, rows = open_feeds(args)
    new: dict[str, FeedRow] = {}  # by identity
    present = repeated = 0
    skipped = list(opml.skipped)
    progress = Progress("opml import", len(opml.feeds), unit="feeds")  # on a terminal only
    try:
        for feed in opml.feeds:
            progress.advance()
            try:
                url = canonical_feed_url(feed.url)
            except FeedUrlError as exc:  # the reason config.toml would give
                skipped.append(f"{feed.url} ({exc.expected})")
                continue
            row = find(rows, url)
            if in_config(config, url) or (row is not None and row.source == "cli"):
                present += 1
                continue
            if key(url) in new:  # an outline before this one is the same feed
                repeated += 1
                continue
            try:
                interval = _interval(feed.interval)
            except ValueError as exc:
                skipped.append(f"{feed.url} (monitor:interval: {exc})")
                continue
            known = {topic.name for topic in config.topics}
            unknown = [name for name in feed.topics or () if name not in known]
            if unknown:
                names = ", ".join(map(repr, unknown))
                skipped.append(f"{feed.url} (scored for {names}: not a topic of {config.path})")
                continue
            stored = row.url if row is not None else url
            title = feed.title or default_name(stored)
            new[key(url)] = FeedRow(
                stored, title, "cli", False, interval, feed.category, feed.html_url, feed.topics
            )
        storage.add_feeds(list(new.values()), utcnow())
    finally:
        progress.close()
        storage.close()
    report = (
        f"imported {len(new)} feeds from {name}; {present} already present; "
        f"{repeated} repeated in the file"
    )
    pickup = f"; {PICKUP}" if new else ""
    print(redact_text(f"{report}; {len(skipped)} skipped{pickup}"))
    for reason in skipped:  # a file's text: no terminal escape gets through
        print(clean(redact_text(f"  skipped: {reason}")))
    return 0


def cmd_opml_export(args: argparse.Namespace) -> int:
    from ._opml import OpmlFeed, write_opml

    config = config_of(args)
    rows: list[FeedRow] = []  # a report: read, never created nor migrated
    if uses_postgres(config) or config.settings.database.exists():
        storage = open_storage(args)
        try:
            rows = storage.feed_rows()
        finally:
            storage.close()
    by_url = {row.url: row for row in rows}
    feeds: list[OpmlFeed] = []
    for feed in config.feeds:  # a config feed's interval is the config's business
        row = by_url.get(feed.url)
        extra = (row.html_url, row.category) if row else (None, None)
        feeds.append(OpmlFeed(feed.url, feed.name, *extra, topics=feed.topics))
    taken = {key(f.url) for f in config.feeds}
    for row in sorted(rows, key=lambda r: (r.category or "", r.name.lower())):
        if row.source == "cli" and key(row.url) not in taken:
            interval = None if row.interval is None else format_duration(row.interval)
            feeds.append(
                OpmlFeed(row.url, row.name, row.html_url, row.category, interval, row.topics)
            )
    data = write_opml(feeds, f"monitor: {config.path.name}", utcnow())
    if args.file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    write_file(Path(args.file), data)  # a new file: as the umask says (it may hold tokens)
    print(f"wrote {len(feeds)} feeds to {args.file}", file=sys.stderr)
    return 0
