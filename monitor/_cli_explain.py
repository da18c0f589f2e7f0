"""``monitor explain ID``: why a stored item was or was not a hit, per topic: the decision
stored when it arrived (or when the feed's edit made it), whether it was alerted, and how
the tracker, with what it has learnt since, scores it now."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._cli_common import config_of
from ._cli_outbox import not_alerted
from ._errors import MonitorError
from ._output import clean, json_text, matched_json, score_text
from ._runtime import apply_feedback, build_trackers
from ._shared_state import SINCE
from ._storage import Store, loads_expired_hits
from ._times import EPOCH, iso, parse_iso


def cmd_explain(
    args: argparse.Namespace, open_storage: Callable[[argparse.Namespace], Store]
) -> int:
    config = config_of(args)  # sends nothing: no alert secrets needed
    storage = open_storage(args)
    item = storage.find_item(args.id)
    if item is None:
        raise MonitorError(f"no hit, item or link {args.id!r} in {storage.where}")
    stored = {h["topic"]: h for h in storage.item_hits(item["id"])}
    expired = {  # hits keep_hits deleted (topic: alerted)
        topic: alerted
        for topic, alerted in loads_expired_hits(item.get("expired_hits")).items()
        if topic not in stored
    }
    states: dict[str, dict[str, Any]] = {}
    trackers = build_trackers(config.topics, storage, states)  # as the daemon judges now
    judgements = storage.feedback()
    apply_feedback(trackers, judgements)
    judged = {j["topic"]: j for j in judgements if j["item_id"] == item["id"]}
    feed_topics = json.loads(item["feed_topics"]) if item.get("feed_topics") else None
    topics: list[dict[str, Any]] = []
    for tracker in trackers:
        name = tracker.name
        hit = stored.get(name)
        # a miss keeps only the item's best score over the topics, with its topic
        score = hit["score"] if hit else item["best_score"] if item["best_topic"] == name else None
        judgement = judged.get(name)
        entry = _stored(name, tracker.threshold, hit, score, judgement, deleted=name in expired)
        alerted_as = _alert_of(storage, hit, entry)
        if feed_topics is not None and name not in feed_topics:  # `feeds add --topic`
            only = ", ".join(feed_topics)
            why = f"not judged: its feed is scored for {only} only"
            entry.update(score_now=None, hit_now=None, matched_now=[], facets_now=None, why=why)
        else:
            now = tracker.judge(item["title"], item["summary"])
            since = iso(parse_iso((states.get(name) or {}).get(SINCE))) or ""
            added = hit is None and item["first_seen"] < since  # "": not known, never
            unrun = hit is None and name not in states and bool(states)  # others have run
            if hit is not None:
                edited = _moment(hit["detected_at"]) > _moment(item["first_seen"])
                verdict = "a hit since the feed edited it" if edited else "a hit when it arrived"
            elif name in expired:
                verdict = _deleted(name, expired[name])
            elif added or unrun:  # never judged for this topic
                when = f"({since[:10]})" if added else "(it has not run yet)"
                verdict = f"stored before this topic was added {when}: never judged for it"
            else:
                verdict = "not a hit when it arrived"
            notes = [] if score is None else [f"scored {score_text(score, tracker.threshold)}"]
            if hit is not None and alerted_as != hit["id"]:
                notes.append(f"not alerted: {not_alerted(hit, alerted_as)}")
            if notes:
                verdict += f" ({'; '.join(notes)})"
            facets = tracker.facets_note(item["title"], item["summary"])
            why = _why(verdict, now.score, tracker.threshold, now.matched, entry)
            entry.update(
                score_now=now.score,
                hit_now=now.hit,
                matched_now=matched_json(now.matched),
                facets_now=facets,
                why=f"{why}; it {facets}" if facets else why,
            )
        topics.append(entry)
    configured = {tracker.name for tracker in trackers}
    for name in sorted((set(stored) | set(expired)) - configured):  # history of a topic
        topics.append(_removed(storage, name, stored.get(name), expired.get(name), judged))
    report = {"id": item["id"], "title": item["title"], "link": item["link"], "topics": topics}
    if args.format == "json":
        sys.stdout.write(json_text(report))
        return 0
    lines = [f"item {item['id']}: {item['title']}", f"  {item['link']}"]
    for t in topics:
        lines.append("")
        where = f"threshold {t['threshold']}" if t["in_config"] else "removed from the config"
        lines.append(f"topic {t['topic']} ({where}): {t['why']}")
        if t["stored_matched"]:
            lines.append(
                "  matched when stored: "
                + ", ".join(f"{m['feature']} {m['weight']:.3f}" for m in t["stored_matched"])
            )
        if t["matched_now"]:
            lines.append(
                "  matched now: "
                + ", ".join(f"{m['feature']} {m['weight']:.3f}" for m in t["matched_now"])
            )
    sys.stdout.write(clean("\n".join(lines)) + "\n")  # the item's text comes from a feed
    return 0


def _alert_of(storage: Store, hit: dict[str, Any] | None, entry: dict[str, Any]) -> str | None:
    """Whether a hit was alerted (``entry``'s ``alerted``), and the hit that carried its
    story's alert for its topic (``alerted_as``, returned): a later report of a story
    (another feed's copy) is a hit with no alert of its own; a story whose topic has no alert
    channel has none."""
    first = storage.story_alert(hit["story_id"], hit["topic"]) if hit and hit["story_id"] else None
    entry["alerted"] = None if hit is None else first == hit["id"]
    entry["alerted_as"] = first
    return first


def _deleted(topic: str, alerted: int) -> str:
    return (
        f"was a hit for {topic} ({'alerted' if alerted else 'not alerted'}), deleted by keep_hits"
    )


def _stored(
    name: str,
    threshold: float | None,
    hit: dict[str, Any] | None,
    score: float | None,
    judgement: dict[str, Any] | None,
    *,
    deleted: bool,
    in_config: bool = True,
) -> dict[str, Any]:
    """An explanation entry's stored half: the topic's hit (or score), its judgement, whether
    the config still has the topic and whether keep_hits deleted its hit."""
    return {
        "topic": name,
        "threshold": threshold,
        "hit": hit is not None,
        "stored_score": score,
        "stored_matched": matched_json(hit["matched"]) if hit else None,
        "judged": None if judgement is None else _verdict(judgement),
        "feedback_id": None if judgement is None else f"fb_{judgement['id']}",
        "in_config": in_config,
        "hit_deleted": deleted,
    }


def _removed(
    storage: Store,
    name: str,
    hit: dict[str, Any] | None,
    alerted: int | None,
    judged: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A topic the item was a hit for that the config no longer has: what was stored (its
    hit, or that keep_hits deleted it), never judged now (no tracker)."""
    judgement = judged.get(name)
    score = hit["score"] if hit else None
    entry = _stored(name, None, hit, score, judgement, deleted=hit is None, in_config=False)
    alerted_as = _alert_of(storage, hit, entry)
    if hit is None:
        verdict = _deleted(name, alerted or 0)
    else:
        verdict = f"a hit (score {hit['score']:.3f})"
        if alerted_as != hit["id"]:
            verdict += f", not alerted: {not_alerted(hit, alerted_as)}"
    if judgement is not None:
        verdict += f"; judged {entry['judged']} ({entry['feedback_id']})"
    why = f"{verdict}; the topic was removed from the config: not judged now"
    entry.update(score_now=None, hit_now=None, matched_now=[], facets_now=None, why=why)
    return entry


def _moment(value: Any) -> datetime:
    """A stored time (text on SQLite, a datetime on PostgreSQL)."""
    return value if isinstance(value, datetime) else parse_iso(str(value)) or EPOCH


def _verdict(judgement: dict[str, Any]) -> str:
    return "relevant" if judgement["relevant"] else "irrelevant"


def _why(verdict: str, score: float, threshold: float, matched: Any, entry: dict[str, Any]) -> str:
    if entry["judged"] is not None:
        verdict += f"; judged {entry['judged']} ({entry['feedback_id']})"
    vetoed = [f for f, _ in matched if f.startswith("excluded:")]
    if vetoed:
        return f"{verdict}; now vetoed by the exclude phrase {vetoed[0][9:]!r}"
    if not matched:
        return f"{verdict}; now it shares no term or phrase with the topic (score 0)"
    side = "at or above" if score >= threshold else "below"
    words = ", ".join(f for f, _ in matched[:3])
    return (
        f"{verdict}; now scores {score_text(score, threshold)}, {side} the threshold, mostly "
        f"on {words}"
    )
