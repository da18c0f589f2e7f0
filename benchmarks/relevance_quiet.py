"""Does a topic drift to its neighbourhood when its story goes quiet?

    python benchmarks/relevance_quiet.py [--from 2025-03-16]

Needs ../shared/eval beside the repository (skips with a message otherwise).

Every labelled topic (``relevance_live.py``'s seedings) is tracked over the dev stream in
publication order twice: as it was, and with the topic's own items (on topic and brief)
removed from a day on, so that for the rest of the month nothing of it arrives. The
adaptation keeps learning from what is left (the gates are relative to the stream, so the
closest neighbours keep being admitted while the topic's own items age out of the pool).
Printed, for the off-topic items of those days: the false alarms at the default threshold
with the topic active and with it quiet. A tracker that drifts raises the second figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reldata

from monitor._classify import batch_moment
from monitor._relevance import Tracker, tokenise


def false_alarms(topic: _reldata.Topic, items: list[_reldata.Item], since: str, quiet: bool) -> int:
    tracker = Tracker(topic.name, topic.seeds)
    alarms = 0
    for batch in _reldata.publication_batches(items):
        batch = sorted(batch, key=_reldata.published)
        late = str(batch[0]["published"]) >= since
        if quiet and late:
            batch = [it for it in batch if topic.labels.get(str(it["id"]), 0) == 0]
            if not batch:
                continue
        tokens = [tokenise(str(it["title"]), str(it["summary"])) for it in batch]
        judgements = tracker.judge_batch(tokens)
        for item, judgement in zip(batch, judgements, strict=True):
            key = str(item["id"])
            off = topic.labels.get(key, 0) == 0 and topic.scored(key)
            alarms += late and off and judgement.hit
        tracker.observe_batch(tokens, judgements, str(batch[0]["feed"]), batch_moment(batch))
    return alarms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="since", default="2025-03-16", help="quiet from this day")
    args = parser.parse_args()
    if not _reldata.available():
        print(f"skipped: {_reldata.DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    items = _reldata.load_items()
    print(f"false alarms among the off-topic items from {args.since} on (default threshold)")
    print(f"{'topic':24} {'active':>7} {'quiet':>7}")
    for topic in _reldata.load_topics(items):
        active = false_alarms(topic, items, args.since, quiet=False)
        quiet = false_alarms(topic, items, args.since, quiet=True)
        print(f"{topic.name:24} {active:>7} {quiet:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
