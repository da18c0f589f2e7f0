"""``monitor classify``: JSON Lines items judged as one stream (pure but for the trackers' and
grouper's own learning; the CLI does the reading and printing)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ._ids import item_ref, story_id
from ._models import Judgement, Tokens
from ._output import matched_json
from ._plaintext import item_text
from ._relevance import StoryGrouper, Tracker, tokenise
from ._times import EPOCH, parse_iso, utcnow

__all__ = [
    "BadLine",
    "StoryAlerts",
    "batch_moment",
    "batches",
    "classify_batch",
    "json_lines",
    "text_of",
]


_TEXT_FIELDS = ("title", "summary", "link", "feed", "published")


class StoryAlerts:
    """The story grouper of a classify run and the topics each story has hit so far: a hit
    alerts when it opens its story or is the story's first hit for one of its topics (one
    alert per story and topic, as the daemon stores them)."""

    def __init__(self, grouper: StoryGrouper) -> None:
        self.grouper = grouper
        self._topics: dict[str, set[str]] = {}

    def assign(
        self, key: str, tokens: Tokens, when: datetime, topics: Sequence[str]
    ) -> tuple[str, bool]:
        """(story id, whether this hit alerts)."""
        first_key, _ = self.grouper.assign_tokens(key, tokens, when)
        story = story_id(first_key)
        before = self._topics.setdefault(story, set())
        alert = first_key == key or any(topic not in before for topic in topics)
        before.update(topics)
        return story, alert


class BadLine(str):
    """The error message standing in for a line that is not a JSON object (or whose text
    fields are not strings)."""


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, object) per non-blank line; a line that is no JSON object gives its error."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            item = BadLine(f"not a JSON object: {exc}")
        if not isinstance(item, dict | BadLine):
            item = BadLine("not a JSON object")
        elif isinstance(item, dict):
            wrong = [
                k for k in _TEXT_FIELDS if item.get(k) is not None and not isinstance(item[k], str)
            ]
            if wrong:
                item = BadLine(f"`{wrong[0]}` must be a string, not {json.dumps(item[wrong[0]])}")
        yield number, item


def batches(
    numbered: Iterable[tuple[int, dict[str, Any] | BadLine]],
) -> Iterator[list[tuple[int, dict[str, Any] | BadLine]]]:
    """Runs of consecutive items from one ``feed``: what one poll of one feed brings the
    daemon, judged together. Items without a feed (and bad lines) stand alone."""
    run: list[tuple[int, dict[str, Any] | BadLine]] = []
    for number, item in numbered:
        feed = None if isinstance(item, BadLine) else item.get("feed")
        if run and (feed is None or feed != _feed(run[-1][1])):
            yield run
            run = []
        run.append((number, item))
    if run:
        yield run


def _feed(item: dict[str, Any] | BadLine) -> Any:
    return None if isinstance(item, BadLine) else item.get("feed")


def text_of(item: dict[str, Any]) -> tuple[str, str]:
    """A JSON item's title and summary as the daemon reads a feed item's (markup stripped,
    entities unescaped, capped)."""
    return item_text(str(item.get("title") or ""), str(item.get("summary") or ""))


def classify_batch(
    batch: Sequence[tuple[int, dict[str, Any] | BadLine]],
    trackers: Sequence[Tracker],
    stories: StoryAlerts,
) -> list[dict[str, Any]]:
    """Judge one batch as the daemon judges a poll: every item against every topic with the
    same state, then group the hits into stories, then let the trackers learn from the
    batch, oldest item first (undated ones before all), as the daemon takes a feed's new
    entries whatever order the feed lists them in. A line that was not a JSON object gives
    its error; results come in the batch's order."""
    good = [(n, i) for n, i in batch if not isinstance(i, BadLine)]
    good.sort(key=lambda pair: _moment(pair[1].get("published")) or EPOCH)
    texts = [text_of(item) for _, item in good]
    tokens = [tokenise(title, summary) for title, summary in texts]
    per_topic = [tracker.judge_batch(tokens) for tracker in trackers]
    results: dict[int, dict[str, Any]] = {}
    for k, (number, item) in enumerate(good):
        judgements = [js[k] for js in per_topic]
        results[number] = _outcome(number, item, judgements, tokens[k], stories)
    feed = good[0][1].get("feed") if good else None
    source = None if feed is None else str(feed)
    now = batch_moment(item for _, item in good)
    for tracker, judged in zip(trackers, per_topic, strict=True):
        tracker.observe_batch(tokens, judged, source, now)
    out = []
    for number, line in batch:
        if isinstance(line, BadLine):
            out.append(
                {
                    "line": number,
                    "link": None,
                    "hit": False,
                    "score": 0.0,
                    "topic": None,
                    "error": str(line),
                }
            )
        else:
            out.append(results[number])
    return out


def _outcome(
    number: int,
    item: dict[str, Any],
    judgements: Sequence[Judgement],
    tokens: Tokens,
    stories: StoryAlerts,
) -> dict[str, Any]:
    link = item.get("link")
    hits = [j for j in judgements if j.hit]
    best = max(hits or judgements, key=lambda j: j.score)
    out: dict[str, Any] = {
        "link": link,
        "hit": bool(hits),
        "score": round(best.score, 6),
        "topic": best.topic if hits else None,
        "topics": {j.topic: round(j.score, 6) for j in judgements},
        "hit_topics": [j.topic for j in hits],
        "matched": matched_json((f, round(w, 6)) for f, w in best.matched),
        "story_id": None,
        "alert": False,
    }
    if hits:
        key = f"link:{link}" if link else f"line:{number}"
        feed = item.get("feed")
        key = key if feed is None else item_ref(str(feed), key)  # as the daemon knows items
        when = _moment(item.get("published")) or utcnow()
        out["story_id"], out["alert"] = stories.assign(key, tokens, when, out["hit_topics"])
    return out


def batch_moment(items: Iterable[dict[str, Any]]) -> datetime | None:
    """The poll time a replayed batch stands for (the trackers' clock): its items' latest
    ``published``, never later than now (a date in the future is a feed's error); ``None``
    when no item has a readable one."""
    moments = [m for item in items if (m := _moment(item.get("published"))) is not None]
    return min(max(moments), utcnow()) if moments else None


def _moment(value: Any) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None
