"""``monitor classify``: JSON Lines items judged as one stream (pure but for the trackers' and
grouper's own learning; the CLI does the reading and printing)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ._poll import story_id
from ._relevance import StoryGrouper, Tracker
from ._times import parse_iso, utcnow

__all__ = ["BadLine", "classify_item", "json_lines"]


class BadLine(str):
    """The error message standing in for a line that is not a JSON object."""


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, object) per non-blank line; a line that is no JSON object gives its error."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            item = BadLine(exc)
        if not isinstance(item, dict | BadLine):
            item = BadLine("expected a JSON object")
        yield number, item


def classify_item(
    number: int,
    item: dict[str, Any] | BadLine,
    trackers: Sequence[Tracker],
    grouper: StoryGrouper,
) -> dict[str, Any]:
    """Judge one item against every topic, group it into a story if it hits, let the trackers
    learn from it. ``item`` is the error of a line that was not a JSON object."""
    if isinstance(item, BadLine):
        return {
            "line": number,
            "link": None,
            "hit": False,
            "score": 0.0,
            "topic": None,
            "error": str(item),
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
        "hit_topics": [j.topic for j in hits],
        "matched": [[f, round(w, 6)] for f, w in best.matched],
        "story_id": None,
        "alert": False,
    }
    if hits:
        key = f"link:{link}" if link else f"line:{number}"
        first_key, first = grouper.assign(
            key, title, summary, _moment(item.get("published")) or utcnow()
        )
        out["story_id"] = story_id(first_key)
        out["alert"] = first or first_key == key
    return out


def _moment(value: Any) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None
