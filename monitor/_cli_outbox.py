"""``monitor deliveries`` and ``monitor redeliver``: the alert outbox, what holds each pending
row (the retry, the digest and when, a disabled or unconfigured channel), and queueing
alerts again."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._cli_common import config_of, open_storage
from ._config import Config
from ._digest import digest_times
from ._errors import MonitorError
from ._output import render
from ._storage import Store, open_store
from ._times import iso, parse_iso, utcnow

DELIVERY_COLUMNS = (
    "id",
    "hit_id",
    "channel",
    "status",
    "attempts",
    "next_attempt",
    "waits_for",
    "last_error",
    "title",
)

DigestWhen = Callable[[dict[str, Any]], datetime | None]  # a delivery row -> its digest's time


def cmd_deliveries(args: argparse.Namespace) -> int:
    config = config_of(args)
    storage = open_storage(args)
    rows = storage.deliveries_report(args.status)
    disabled = storage.disabled_channels()
    when = _digest_when(config, storage)
    for row in rows:
        row["waits_for"] = _waits_for(row, config, disabled, when)
        row.pop("claimed_by", None)  # said in waits_for while it holds the row
        if row["waits_for"] == "the digest":
            row["next_attempt"] = iso(when(row)) if when is not None else None
        elif row["waits_for"] is not None and row["waits_for"].startswith("the channel"):
            row["next_attempt"] = None
    sys.stdout.write(render(rows, args.format, DELIVERY_COLUMNS))
    return 0


def _digest_when(config: Config, storage: Store) -> DigestWhen | None:
    """In digest mode, when the digest carrying a delivery row goes out: a digest tried before
    at its retry, other rows in the slot after it."""
    if config.email is None or not _digest_mode(config):
        return None
    now = utcnow()
    tried, tried_at, after = digest_times(storage, config.email, now)

    def when(row: dict[str, Any]) -> datetime | None:
        at = tried_at if tried is not None and row.get("digest") == tried else after
        return None if at is None else max(at, now)  # a passed slot: the next look, now

    return when


def _waits_for(
    row: dict[str, Any],
    config: Config,
    disabled: dict[str, str],
    digest: DigestWhen | None,
) -> str | None:
    """What a pending delivery waits for (None: nothing, it goes out now): on PostgreSQL,
    a worker's claim while its lease runs (the worker sends it, or died; when the lease ends
    any worker takes it)."""
    if row["status"] != "pending":
        return None
    if row["channel"] in disabled:
        return "the channel, disabled after a 410 Gone"
    if row["channel"] not in config.channels:
        return "the channel, not in the config"
    lease = parse_iso(row["next_attempt"]) if row.get("claimed_by") else None
    if lease is not None and lease > utcnow():  # a worker sends it (or died doing so)
        return (
            f"claimed by worker {row['claimed_by']}, lease until {lease:%H:%M:%S} UTC "
            "(then retried)"
        )
    if row["channel"] == "email" and digest is not None and not row["hit_id"].startswith("health_"):
        return "the digest"
    return "the retry" if row["attempts"] else None


def cmd_redeliver(args: argparse.Namespace) -> int:
    config = config_of(args)
    storage = open_store(config, must_exist=True)
    count = storage.requeue(args.id, utcnow())
    if not count:
        raise MonitorError(_nothing_to_redeliver(storage, args.id))
    disabled = storage.disabled_channels()
    when = _digest_when(config, storage)
    held: dict[str, set[str]] = {}  # what holds them: channels by reason
    digest_at: datetime | None = None
    for row in storage.deliveries_report("pending"):
        if row["hit_id"] == args.id or (
            str(row["id"]) == args.id and not row["hit_id"].startswith("health_")
        ):
            reason = _waits_for(row, config, disabled, when) or "now"
            held.setdefault(reason, set()).add(row["channel"])
            if reason == "the digest" and when is not None:
                digest_at = when(row)
    print(f"queued {count} deliver{'y' if count == 1 else 'ies'} again")
    if "now" in held or not held:
        print(
            "  running workers on PostgreSQL are woken at once, a daemon on SQLite sends them "
            "within its outbox_poll (5 s); or run `monitor once`"
        )
    for reason, channels in sorted(held.items()):
        names = ", ".join(sorted(channels))
        if reason == "the digest":
            print(f"  {names}: in the next digest, at {iso(digest_at)}")
        elif reason == "the channel, disabled after a 410 Gone":
            for channel in sorted(channels):
                print(
                    f"  but channel {channel} is disabled after a 410 Gone ({disabled[channel]}):"
                    " its alerts wait until the config points it at another endpoint"
                )
        elif reason == "the channel, not in the config":
            print(f"  but channel {names} is not in the config: its alerts wait until it is")
    return 0


def _digest_mode(config: Config) -> bool:
    return config.email is not None and config.email.mode == "digest"


def _nothing_to_redeliver(storage: Store, ident: str) -> str:
    """Why ``ident`` has no deliveries: no such hit or delivery, or a hit never alerted (a
    later report of a story alerted under its first hit)."""
    item = storage.find_item(ident) if ident.startswith("hit_") else None
    hit = (
        next((h for h in storage.item_hits(item["id"]) if h["id"] == ident), None) if item else None
    )
    if hit is None:
        return f"no delivery or hit with id {ident!r}"
    if hit["alerted"]:
        return f"hit {ident} has no deliveries: {not_alerted(hit, None)}"
    first = storage.story_alert(hit["story_id"], hit["topic"]) if hit["story_id"] else None
    again = f"; `monitor redeliver {first}` sends that alert again" if first else ""
    return f"hit {ident} was not alerted: {not_alerted(hit, first)}{again}"


def not_alerted(hit: dict[str, Any], first: str | None) -> str:
    """Why a hit has no alert of its own (``first``: the hit that carried its story's)."""
    if hit["alerted"]:
        return "no alert channel took its topic when it was stored"
    if first is not None:
        return f"it is a later report of the story alerted as {first}"
    return (  # its topic had no alert channel for the story's first report (or lost it since)
        "it is a later report of its story, of which no alert is stored for its topic "
        "(a topic with no alert channel alerts nobody)"
    )
