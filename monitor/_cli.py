"""The command line: ``monitor [--config PATH] COMMAND``. Logging is configured here only."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from ._cli_common import check_topic, cut, open_storage
from ._cli_feeds import add_topics
from ._cli_feeds import register_verbs as register_feed_verbs
from ._cli_health import add_health, add_next_poll, mark_copies
from ._cli_more import register as register_more
from ._cli_outbox import cmd_deliveries, cmd_redeliver
from ._cli_removed import check_history_topic, refuse_removed_topic
from ._cli_score import register as register_scoring
from ._cli_topic import register as register_topic_commands
from ._cli_types import positive, since
from ._config import Config, load_config
from ._errors import ConfigError, MonitorError
from ._feedset import as_configured, named_as_configured
from ._logjson import JsonFormatter, use_json_logs
from ._output import cell, clean, deliveries_json, matched_json, render, score_text
from ._redact import RedactingFilter, redact_text
from ._relevance import DEFAULT_THRESHOLD
from ._runtime import FEEDBACK_INTERVAL
from ._storage import Store, open_existing, open_store
from ._times import utcnow

log = logging.getLogger("monitor")

SENDING = ("run", "once")  # the commands that send alerts: only they need the secrets

HIT_COLUMNS = ("id", "detected_at", "published", "score", "topic", "feed", "title", "story_id",
               "deliveries")  # fmt: skip
FEED_COLUMNS = (
    "name",
    "health",
    "last_status",
    "last_success",
    "error_count",
    "items_seen",
    "hits",
    "retry_until",
    "interval",
    "next_poll",
    "last_error",
    "source",
    "paused",
    "topics",
    "url",  # what `feeds pause|resume|remove` take (redacted, as shown: they take it so)
)
FEEDBACK_COLUMNS = ("id", "topic", "relevant", "judged_at", "title", "link")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_errors = _json_logs_asked(words)
    args = _parser().parse_args(words)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # no secret of a URL in any line
        handler.addFilter(RedactingFilter())
    if args.log_format == "json":
        use_json_logs()
    logging.captureWarnings(True)  # Python's warnings as log lines: JSON ones with JSON logs
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)  # its debug lines show headers
    # its warnings are its internals, once per interval while a poll outlasts its interval
    # ("maximum number of running instances reached") or the loop was held ("missed by")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        _fatal(args, f"config error: {exc}")
        return 2
    except MonitorError as exc:
        _fatal(args, f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `monitor hits | head`
        sys.stderr.close()
        return 0


def _fatal(args: argparse.Namespace, message: str) -> None:
    """Why a command stopped: a plain line, or with ``--log-format json`` a log object like
    every other line (a log parser reading a daemon's output must be able to read this)."""
    message = redact_text(message)  # an error may quote a URL with its credentials
    if args.log_format == "json":
        log.error("%s", message)
    else:
        print(f"monitor: {message}", file=sys.stderr)


def _json_logs_asked(words: Sequence[str]) -> bool:
    """Whether the command line asks for ``--log-format json`` (as argparse reads it: an
    abbreviation such as ``--log-f`` too, the last one given wins), before argparse may
    refuse the rest of it."""
    asked = False
    for word, following in itertools.pairwise([*words, ""]):
        name, equals, value = word.partition("=")
        if len(name) >= len("--log-f") and "--log-format".startswith(name):
            asked = (value if equals else following) == "json"
    return asked


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors follow ``--log-format json`` like every other line."""

    json_errors = False  # set from the command line before it is parsed

    def error(self, message: str) -> NoReturn:
        if not _Parser.json_errors:
            super().error(message)
        text = redact_text(f"usage error: {self.prog}: {message}")
        record = logging.makeLogRecord({"name": "monitor", "levelname": "ERROR", "msg": text})
        print(JsonFormatter().format(record), file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="monitor",
        description="A news monitor: polls feeds, keeps the items that match "
        "your topics, alerts by email and signed webhook.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("MONITOR_CONFIG") or "config.toml"),  # set but empty: unset
        help="config file (default: $MONITOR_CONFIG or ./config.toml)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--log-format", default="text", choices=["text", "json"], help="json: one object a line"
    )
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "run", help="run the daemon in the foreground until SIGINT/SIGTERM"
    ).set_defaults(func=cmd_run)
    sub.add_parser("once", help="poll every feed once, store, alert, exit").set_defaults(
        func=cmd_once
    )

    hits = sub.add_parser("hits", help="list stored hits, newest first")
    hits.add_argument("--since", type=since, help="e.g. 2h, 3d or 2025-03-11")
    hits.add_argument("--topic")
    hits.add_argument(
        "--limit",
        type=positive,
        default=50,
        help="at most N hits, newest first (N >= 1; default 50)",
    )
    hits.add_argument("--format", choices=["table", "json", "csv"], default="table")
    hits.set_defaults(func=cmd_hits)

    feeds = sub.add_parser("feeds", help="each feed's last status, errors, items and hits")
    feeds.add_argument("--format", choices=["table", "json", "csv"], default="table")
    feeds.set_defaults(func=cmd_feeds)
    register_feed_verbs(feeds)  # issue 13: feeds add|remove|pause|resume

    deliveries = sub.add_parser("deliveries", help="the alert outbox: pending, delivered, failed")
    deliveries.add_argument("--status", choices=["pending", "delivered", "failed"])
    deliveries.add_argument("--format", choices=["table", "json", "csv"], default="table")
    deliveries.set_defaults(func=cmd_deliveries)

    redeliver = sub.add_parser("redeliver", help="queue a hit's alerts (or one delivery) again")
    redeliver.add_argument("id", help="a hit id (hit_…) or a delivery id")
    redeliver.set_defaults(func=cmd_redeliver)

    register_scoring(sub)  # classify, eval

    feedback = sub.add_parser(
        "feedback",
        help="judge a hit or item (teaches its topic), list or remove judgements",
        description="Judge an item: ID is a hit id (hit_…), an item id (items.id) or the "
        "item's link. The topic's profile adapts from judged items; a running daemon picks "
        f"judgements up within {int(FEEDBACK_INTERVAL)} s.",
    )
    feedback.add_argument("id", nargs="?", help="hit id, item id or link")
    verdict = feedback.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--relevant", dest="verdict", action="store_const", const="relevant")
    verdict.add_argument("--irrelevant", dest="verdict", action="store_const", const="irrelevant")
    verdict.add_argument(
        "--remove",
        dest="verdict",
        action="store_const",
        const="remove",
        help="undo: ID is a feedback id from --list (fb_…), or the hit id, item id or link "
        "that was judged",
    )
    verdict.add_argument("--list", dest="verdict", action="store_const", const="list")
    feedback.add_argument("--topic", help="the topic judged (default: the hit's or item's)")
    feedback.add_argument("--format", choices=["table", "json", "csv"], default="table")
    feedback.set_defaults(func=cmd_feedback)
    register_topic_commands(sub, open_storage)  # reports: read-only, never migrated
    register_more(sub)  # search, feeds add/remove/…, opml, init, atom
    return parser


def _config(args: argparse.Namespace, *, secrets: bool | None = None) -> Config:
    """The config; alert secrets are read only for the commands that send (or when asked)."""
    return load_config(args.config, secrets=args.command in SENDING if secrets is None else secrets)


def _storage(args: argparse.Namespace, *, readonly: bool = False) -> Store:
    """The configured database; ``readonly`` for the reports (opened ``mode=ro``, never
    created nor migrated)."""
    return open_store(_config(args), readonly=readonly, must_exist=True)


def cmd_run(args: argparse.Namespace) -> int:
    from ._daemon import run_daemon

    asyncio.run(run_daemon(_config(args)))
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from ._daemon import run_once

    return once_status(asyncio.run(run_once(_config(args))))


def once_status(reports: Sequence[Any]) -> int:
    """``monitor once``'s exit status for cron (README), what went wrong logged."""
    unstored = [r for r in reports if r.status == "not-stored"]
    if unstored:  # read, but the database refused what was read: cron must hear of it
        log.error(
            "%d feed(s) read but not stored, the database refused the write: %s",
            len(unstored),
            "; ".join(f"{r.feed}: {r.error}" for r in unstored[:5]),
        )
        _log_cycle(reports)
        return EXIT_DATABASE
    failed = [r for r in reports if r.status in ("error", "gone")]
    if reports and not any(r.status in ("ok", "not-modified", "unchanged") for r in reports):
        if failed:
            rest = len(reports) - len(failed)
            log.warning(
                "every feed failed this cycle (%d of %d%s): %s",
                len(failed),
                len(reports),
                f"; {rest} more wait for a retry" if rest else "",
                "; ".join(f"{r.feed}: {r.error}" for r in failed[:5]),
            )
        else:  # each waits out a backoff, a Retry-After, or is gone: `monitor feeds` says
            log.warning(
                "no feed was read this cycle: all %d wait for a retry after failing or are "
                "gone (see `monitor feeds`)",
                len(reports),
            )
        _log_cycle(reports)
        return EXIT_ALL_FEEDS_FAILED
    _log_cycle(reports)
    return 0


EXIT_DATABASE = 1  # `monitor once`: the database cannot be used, or refused a feed's items
EXIT_ALL_FEEDS_FAILED = 3  # `monitor once`: no feed was read (documented for cron)


def _log_cycle(reports: Sequence[Any]) -> None:
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.status] = counts.get(report.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    log.info(
        "cycle done: %d feeds (%s), %d new items, %d hits",
        len(reports),
        summary or "none",
        sum(r.new for r in reports),
        sum(r.hits for r in reports),
    )


def cmd_hits(args: argparse.Namespace) -> int:
    config = _config(args, secrets=False)
    storage = _storage(args, readonly=True)
    check_history_topic(args.topic, [t.name for t in config.topics], storage)
    rows = storage.hits(since=args.since, topic=args.topic, limit=args.limit + 1)
    rows = named_as_configured(config.feeds, cut(rows, args.limit, "hits"))  # never written
    if args.format != "table":  # one shape for matched (the webhook's), lists not text
        for row in rows:
            row["matched"] = matched_json(row["matched"])
            row["deliveries"] = deliveries_json(row["deliveries"])
    else:  # a score never reads as on the other side of its topic's threshold
        thresholds = {
            t.name: DEFAULT_THRESHOLD if t.threshold is None else t.threshold for t in config.topics
        }
        for row in rows:
            if row["topic"] in thresholds:
                row["score"] = score_text(row["score"], thresholds[row["topic"]])
    sys.stdout.write(render(rows, args.format, HIT_COLUMNS))
    return 0


def cmd_feeds(args: argparse.Namespace) -> int:
    config = _config(args)
    storage = open_existing(config)  # None: no database yet, and a report makes none
    stored = [] if storage is None else storage.feeds_report(removed=True)
    # the config's [[feeds]] as they are now (before any database: never polled); a report
    # never writes (sync_feeds) to say so
    rows = as_configured(config.feeds, stored)
    rows = add_health(storage, rows, utcnow())
    notes = mark_copies(config, rows)  # a config feed stored twice: the copy is not polled
    rows = add_next_poll(config, storage, rows)
    rows = add_topics(storage, rows, joined=args.format == "table")
    for row in rows:  # the configured URLs may carry credentials: never shown
        for name in ("name", "url", "fetch_url", "last_error", "warning", "health"):
            if isinstance(row.get(name), str):
                row[name] = redact_text(row[name])
        row["paused"] = bool(row["paused"])  # true/false, as every other flag
    sys.stdout.write(render(rows, args.format, FEED_COLUMNS, whole=["url"]))
    for note in notes:  # (stderr: the JSON or CSV on stdout stays the rows alone)
        print(clean(redact_text(note)), file=sys.stderr)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    config = _config(args, secrets=False)
    storage = _storage(args, readonly=args.verdict == "list")
    topics = [t.name for t in config.topics]
    check_topic(args.topic, topics)
    if args.verdict == "list":
        rows = storage.feedback(args.topic)
        for row in rows:  # a word in the table, true/false in JSON and CSV
            relevant = bool(row["relevant"])
            row["relevant"] = relevant if args.format != "table" else _VERDICTS[relevant]
            row["id"] = f"fb_{row['id']}"  # not a number: numbers are item ids everywhere
        sys.stdout.write(render(rows, args.format, FEEDBACK_COLUMNS))
        return 0
    if not args.id:
        raise MonitorError(f"feedback --{args.verdict} needs an ID (hit id, item id or link)")
    if args.verdict == "remove":
        count = storage.remove_feedback(args.id, args.topic)
        if not count:
            raise MonitorError(f"no feedback for {args.id!r}")
        print(f"removed {count} judgement{'s' if count > 1 else ''}; " + _PICKUP)
        return 0
    item = storage.find_item(args.id)
    if item is None:
        raise MonitorError(f"no hit, item or link {args.id!r} in {storage.where}")
    if args.topic is None:  # a hit of a topic removed from the config: nobody would learn
        refuse_removed_topic(args.id, item, topics, storage, config.path)
    topic = args.topic or _judged_topic(args.id, item, topics)
    relevant = args.verdict == "relevant"
    ident = storage.add_feedback(topic, item, relevant, utcnow())
    # a feed's text: cleaned, then cut as a table cuts it; no title: the link, or the id
    title = cell(item["title"] or "", 80) or cell(item.get("link") or item["id"], 0)
    print(f"feedback fb_{ident}: {args.verdict} to {topic}: {title}; " + _PICKUP)
    return 0


_VERDICTS = {True: "relevant", False: "irrelevant"}


def _judged_topic(ident: str, item: dict[str, Any], topics: list[str]) -> str:
    """The topic a judgement without ``--topic`` is for: the hit's, the only topic (of the
    config, or that the item's feed is scored for), or the one topic the item hit. An item
    that hit none or several has only a best score, which may be near 0: the user says."""
    feed_topics = json.loads(item["feed_topics"]) if item["feed_topics"] else topics
    scored = [t for t in topics if t in feed_topics]
    if ident.startswith("hit_") and item["topic"] in topics:
        return str(item["topic"])
    if len(scored) == 1:
        return scored[0]
    if item["hit_topics"] == 1 and item["hit_topic"] in scored:
        return str(item["hit_topic"])
    hit = "no topic's hit" if not item["hit_topics"] else "a hit for several topics"
    raise MonitorError(
        f"{ident!r} is {hit}: say which topic the judgement is for: --topic "
        f"({', '.join(scored or topics)})"
    )


_PICKUP = f"a running daemon uses it within {int(FEEDBACK_INTERVAL)} s"
