"""The evaluation topics and arrival orders the relevance benchmarks replay.

Topics (all over the same 1,355 dev items of ``../shared/eval``):

* ``paris``: the shipped topic, seeded by the five long articles in ``seeds/``.
* ``paris-items4``: the same labels, seeded by the four earliest on-topic items (title +
  summary), the way the other topics are given (TDT's Nt = 4).
* one topic per folder of ``../shared/eval/topics`` (its four seed items and labels), then
  of ``benchmarks/topics`` (the project's own labels of the same items; see its README).
* with ``headlines``, the item-seeded topics again, seeded by the titles alone.

Seed items stay in the stream (they are real items) but are never scored.

Orders:

* ``publication``: the dev file's order.
* ``live``: what a daemon that starts at ``start`` and polls every hour sees: the first poll
  brings every item published in the 48 hours before ``start`` (the feeds' backlog), later
  polls the items of the past hour; within a poll the feeds answer in a random order (seeded)
  and each feed lists its items newest first. Items published before the backlog are never
  seen. A *batch* is one feed's answer to one poll.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
DEV = EVAL / "dev.jsonl"
OWN_TOPICS = ROOT / "benchmarks" / "topics"

Item = dict[str, object]
Batch = list[Item]

LIVE_STARTS = ("2025-03-01", "2025-03-06", "2025-03-11", "2025-03-16")
LIVE_ORDERS = (1, 2)
BACKLOG = timedelta(hours=48)
POLL = timedelta(hours=1)


@dataclass(frozen=True)
class Topic:
    name: str
    seeds: list[str]
    labels: dict[str, int]  # item id -> 2 / 1 / 0
    unscored: frozenset[str]  # the seed items

    def scored(self, item_id: str) -> bool:
        return item_id not in self.unscored and self.labels.get(item_id, 1) != 1


def available() -> bool:
    return DEV.exists()


def load_items() -> list[Item]:
    """The dev items, their title and summary read as ``monitor classify`` reads them."""
    from monitor._classify import text_of

    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    for item in items:
        item["title"], item["summary"] = text_of(item)
    return items


def _item_text(item: Item) -> str:
    return f"{item['title']}\n\n{item['summary']}"


def load_topics(items: list[Item], *, headlines: bool = False) -> list[Topic]:
    """Every topic we have labels for (see the module docstring); with ``headlines``, also
    each item-seeded topic seeded by its four items' titles alone (``NAME-headlines``: the
    user who pastes four headlines)."""
    from monitor._relevance import read_seeds

    paris_labels = {str(i["id"]): int(i["label"]) for i in items}  # type: ignore[call-overload]
    first4 = [i for i in items if i["label"] == 2][:4]
    out = [
        Topic("paris", read_seeds(ROOT / "seeds"), paris_labels, frozenset()),
        Topic(
            "paris-items4",
            [_item_text(i) for i in first4],
            paris_labels,
            frozenset(str(i["id"]) for i in first4),
        ),
    ]
    for path in _topic_folders():
        rows = [
            json.loads(line)
            for line in (path / "labels.jsonl").read_text(encoding="utf-8").splitlines()
            if line
        ]
        out.append(
            Topic(
                path.name,
                read_seeds(path / "seeds"),
                {str(r["id"]): int(r["label"]) for r in rows},
                frozenset(str(r["id"]) for r in rows if r.get("seed")),
            )
        )
    if headlines:
        out += [
            Topic(
                f"{t.name}-headlines", [s.split("\n", 1)[0] for s in t.seeds], t.labels, t.unscored
            )
            for t in out
            if t.name != "paris"
        ]
    return out


def _topic_folders() -> list[Path]:
    """The labelled topic folders: ``../shared/eval/topics`` first, then the project's own
    (``benchmarks/topics``, labelled for this project over the same dev items)."""
    out: list[Path] = []
    for folder in (EVAL / "topics", OWN_TOPICS):
        if folder.exists():
            out += sorted(p for p in folder.iterdir() if (p / "labels.jsonl").exists())
    return out


def published(item: Item) -> datetime:
    text = str(item["published"])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def publication_batches(items: list[Item]) -> list[Batch]:
    """The dev order, one batch per run of consecutive items from one feed (as ``monitor
    classify`` batches its input)."""
    out: list[Batch] = []
    for item in items:
        if out and out[-1][0]["feed"] == item["feed"]:
            out[-1].append(item)
        else:
            out.append([item])
    return out


def live_batches(items: list[Item], start: str, order: int) -> list[Batch]:
    """Simulated live arrival from ``start`` (see the module docstring)."""
    rng = random.Random(f"{start}/{order}")
    begin = datetime.fromisoformat(start).replace(tzinfo=UTC)
    dated = sorted(((published(i), n, i) for n, i in enumerate(items)), key=lambda t: t[:2])
    dated = [t for t in dated if t[0] >= begin - BACKLOG]
    out: list[Batch] = []
    poll = begin
    k = 0
    while k < len(dated):
        by_feed: dict[str, list[tuple[datetime, int, Item]]] = {}
        while k < len(dated) and dated[k][0] < poll:
            by_feed.setdefault(str(dated[k][2]["feed"]), []).append(dated[k])
            k += 1
        feeds = sorted(by_feed)
        rng.shuffle(feeds)
        for feed in feeds:
            out.append([i for _, _, i in sorted(by_feed[feed], key=lambda t: t[:2], reverse=True)])
        poll += POLL
    return out


def runs(items: list[Item]) -> list[tuple[str, list[Batch]]]:
    """The live-order runs of the benchmark: every start day with two feed orders."""
    return [
        (f"live {start[5:]}#{order}", live_batches(items, start, order))
        for start in LIVE_STARTS
        for order in LIVE_ORDERS
    ]
