"""The values storage hands out and takes in, and how they are read from rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._models import Alert, Entry, FeedState, Judgement
from .._redact import redact_url
from .._times import parse_iso

# A hit's publication time in a query of ``hits h JOIN items i``: the hit's own (as the feed
# gave it when the hit was detected; SQLite schema 11, PostgreSQL 9), else the item's (a hit
# stored by a PostgreSQL worker still running the release before, which leaves it NULL).
HIT_PUBLISHED = "coalesce(h.published, i.published) AS published"

# ``update_topic_states``: (topic, the stored state or None) -> the state to write
TopicUpdate = Callable[[str, dict[str, Any] | None], dict[str, Any]]


def state_json(state: dict[str, Any]) -> str:
    """A topic state as stored: JSON without spaces (rewritten whole at every state save,
    megabytes at the tracker's limits: 14 % smaller)."""
    return json.dumps(state, separators=(",", ":"))


def state_keys(state: Any, only: Sequence[str] | None) -> dict[str, Any] | None:
    """A stored topic state as ``update_topic_states`` hands it over: the whole state, or
    with ``only`` those of its keys that hold a value; None when it is not a state."""
    if not isinstance(state, dict):
        return None
    return state if only is None else {k: state[k] for k in only if state.get(k) is not None}


@dataclass(frozen=True, slots=True)
class NewItem:
    """A new entry with its judgements, ready to be stored."""

    entry: Entry
    judgements: tuple[Judgement, ...]
    duplicate: bool = False  # the same story already stored for this feed: never a hit
    story_id: str | None = None
    alert: bool = True  # False for a later copy of a story that already alerted


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    channel: str
    attempts: int
    alert: Alert
    recipients: tuple[str, ...] | None = None  # still owed (email); None: every recipient
    event: bool = False  # a feed health change's alert (``feed_event_deliveries``), not a hit's
    digest: str | None = None  # the email digest it was put in (its Message-ID's id), if any


def hit_id(feed_url: str, key: str, topic: str) -> str:
    """A stable id for a hit: the same item and topic always give the same id."""
    digest = hashlib.sha256(f"{feed_url}\n{key}\n{topic}".encode()).hexdigest()
    return f"hit_{digest[:24]}"


FEED_STATE_COLUMNS = (
    "id, url, fetch_url, name, etag, last_modified, body_hash, last_polled, last_status, "
    "error_count, retry_until, warning"
)


def feed_state_from(row: dict[str, Any]) -> FeedState:
    return FeedState(
        id=row["id"],
        url=row["url"],
        fetch_url=row["fetch_url"],
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_polled=parse_iso(row["last_polled"]),
        last_status=row["last_status"],
        error_count=row["error_count"],
        retry_until=parse_iso(row["retry_until"]),
        next_poll=parse_iso(row.get("next_poll")),
        warning=row.get("warning"),
    )


def alert_from(row: dict[str, Any]) -> Alert:
    published = parse_iso(row["published"])
    detected = parse_iso(row["detected_at"])
    assert detected is not None
    return Alert(
        id=row["id"],
        topic=row["topic"],
        score=row["score"],
        title=row["title"],
        summary=row["summary"],
        link=row["link"],
        feed=row["feed"],
        feed_url=redact_url(row["feed_url"]),
        published=published,
        detected_at=detected,
        matched=tuple((str(f), float(w)) for f, w in json.loads(row["matched"])),
        story_id=row["story_id"],
    )
