"""The command line: ``monitor [--config PATH] COMMAND``. Logging is configured here only."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from . import __version__
from ._config import Config, load_config
from ._durations import parse_duration
from ._errors import ConfigError, MonitorError
from ._output import render
from ._runtime import build_grouper, build_trackers
from ._storage import Storage
from ._times import parse_iso, utcnow

log = logging.getLogger("monitor")

HIT_COLUMNS = ("detected_at", "score", "topic", "feed", "title", "story_id", "deliveries")
FEED_COLUMNS = (
    "name",
    "last_status",
    "last_success",
    "error_count",
    "items_seen",
    "hits",
    "retry_until",
    "last_error",
)
DELIVERY_COLUMNS = (
    "id",
    "hit_id",
    "channel",
    "status",
    "attempts",
    "next_attempt",
    "last_error",
    "title",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"monitor: config error: {exc}", file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `monitor hits | head`
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="A news monitor: polls feeds, keeps the items that match "
        "your topics, alerts by email and signed webhook.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("MONITOR_CONFIG", "config.toml")),
        help="config file (default: $MONITOR_CONFIG or ./config.toml)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
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
    hits.add_argument("--since", type=_since, help="e.g. 2h, 3d or 2025-03-11")
    hits.add_argument("--topic")
    hits.add_argument("--limit", type=int, default=50)
    hits.add_argument("--format", choices=["table", "json", "csv"], default="table")
    hits.set_defaults(func=cmd_hits)

    feeds = sub.add_parser("feeds", help="each feed's last status, errors, items and hits")
    feeds.add_argument("--format", choices=["table", "json", "csv"], default="table")
    feeds.set_defaults(func=cmd_feeds)

    deliveries = sub.add_parser("deliveries", help="the alert outbox: pending, delivered, failed")
    deliveries.add_argument("--status", choices=["pending", "delivered", "failed"])
    deliveries.add_argument("--format", choices=["table", "json", "csv"], default="table")
    deliveries.set_defaults(func=cmd_deliveries)

    redeliver = sub.add_parser("redeliver", help="queue a hit's alerts (or one delivery) again")
    redeliver.add_argument("id", help="a hit id (hit_…) or a delivery id")
    redeliver.set_defaults(func=cmd_redeliver)

    classify = sub.add_parser("classify", help="score JSON Lines items as a stream; no database")
    classify.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    classify.set_defaults(func=cmd_classify)
    return parser


def _since(text: str) -> datetime:
    try:
        return utcnow() - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a duration such as 2h or 3d, or a date such as 2025-03-11"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def _storage(args: argparse.Namespace) -> Storage:
    config = _config(args)
    if not config.settings.database.exists():
        raise MonitorError(
            f"{config.settings.database}: no database yet; run `monitor once` "
            "or `monitor run` first"
        )
    return Storage(config.settings.database)


def cmd_run(args: argparse.Namespace) -> int:
    from ._daemon import run_daemon

    asyncio.run(run_daemon(_config(args)))
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from ._daemon import run_once

    reports = asyncio.run(run_once(_config(args)))
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
    return 0


def cmd_hits(args: argparse.Namespace) -> int:
    storage = _storage(args)
    rows = storage.hits(since=args.since, topic=args.topic, limit=args.limit)
    sys.stdout.write(render(rows, args.format, HIT_COLUMNS))
    return 0


def cmd_feeds(args: argparse.Namespace) -> int:
    rows = _storage(args).feeds_report()
    sys.stdout.write(render(rows, args.format, FEED_COLUMNS))
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    rows = _storage(args).deliveries_report(args.status)
    sys.stdout.write(render(rows, args.format, DELIVERY_COLUMNS))
    return 0


def cmd_redeliver(args: argparse.Namespace) -> int:
    count = _storage(args).requeue(args.id, utcnow())
    if not count:
        raise MonitorError(f"no delivery or hit with id {args.id!r}")
    print(
        f"queued {count} deliver{'y' if count == 1 else 'ies'} again; a running daemon "
        "sends them within its next retry check, or run `monitor once`"
    )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    config = _config(args)
    trackers = build_trackers(config.topics)
    grouper = build_grouper(config)
    with _open_input(args.file) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            sys.stdout.write(
                json.dumps(classify_line(number, line, trackers, grouper), ensure_ascii=False)
                + "\n"
            )
    return 0


def classify_line(number: int, line: str, trackers: Sequence[Any], grouper: Any) -> dict[str, Any]:
    """Judge one JSON Lines item against every topic; let the trackers learn from it."""
    try:
        item = json.loads(line)
        if not isinstance(item, dict):
            raise ValueError("expected a JSON object")
    except ValueError as exc:
        print(f"monitor: line {number}: not a JSON object: {exc}", file=sys.stderr)
        return {
            "line": number,
            "link": None,
            "hit": False,
            "score": 0.0,
            "topic": None,
            "error": str(exc),
        }
    title, summary = str(item.get("title") or ""), str(item.get("summary") or "")
    link = item.get("link")
    judgements = []
    for tracker in trackers:
        judgement = tracker.judge(title, summary)
        tracker.observe(title, summary, judgement)
        judgements.append(judgement)
    hits = [j for j in judgements if j.hit]
    best = max(hits or judgements, key=lambda j: j.score)
    out: dict[str, Any] = {
        "link": link,
        "hit": bool(hits),
        "score": round(best.score, 6),
        "topic": best.topic if hits else None,
        "topics": {j.topic: round(j.score, 6) for j in judgements},
        "matched": [[f, round(w, 6)] for f, w in best.matched],
        "story_id": None,
        "alert": False,
    }
    if hits:
        from ._poll import story_id

        key = f"link:{link}" if link else f"line:{number}"
        first_key, first = grouper.assign(
            key, title, summary, _moment(item.get("published")) or utcnow()
        )
        out["story_id"] = story_id(first_key)
        out["alert"] = first or first_key == key
    return out


@contextmanager
def _open_input(name: str) -> Iterator[IO[str]]:
    if name == "-":
        yield sys.stdin
        return
    try:
        handle = open(name, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise MonitorError(f"{name}: cannot read: {exc.strerror}") from None
    with handle:
        yield handle


def _moment(value: Any) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None
