"""Does a topic drift to its neighbourhood when its story goes quiet?

    python benchmarks/relevance_quiet.py [--from 2025-03-16]

Needs ../shared/eval beside the repository (skips with a message otherwise).

Every labelled topic (``relevance_live.py``'s seedings) is tracked over the dev stream in
publication order twice: as it was, and with the topic's own items (on topic and brief)
removed from a day on, so that for the rest of the month nothing of it arrives. The
adaptation keeps learning from what is left (the gates are relative to the stream, so the
closest neighbours keep being admitted while the topic's own items age out of the pool).
Printed, for the off-topic items of those days: the false alarms at the default threshold
with the topic active and with it quiet (a tracker that drifts raises the second figure), and
the active run's F1 over those days (what a slower clock must not cost a topic that is still
active).
``--stretch K`` runs the quiet days' clock K times slower (three weeks read as 3K: the same
items, a longer silence for the adaptation's ages); ``--set`` overrides a ``Params`` field.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reldata
from relevance_live import parse_sets

from monitor._classify import batch_moment
from monitor._relevance import Params, Tracker, tokenise


def late_days(
    topic: _reldata.Topic,
    items: list[_reldata.Item],
    since: str,
    quiet: bool,
    stretch: float = 1.0,
    params: Params | None = None,
) -> tuple[int, int, int]:
    """(false alarms, hits, misses) among the scored items from ``since`` on."""
    tracker = Tracker(topic.name, topic.seeds, params=params)
    start = datetime.fromisoformat(since).replace(tzinfo=UTC)
    alarms = hits = misses = 0
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
            if not (late and topic.scored(key)):
                continue
            label = topic.labels.get(key, 0)
            alarms += label == 0 and judgement.hit
            hits += label == 2 and judgement.hit
            misses += label == 2 and not judgement.hit
        moment = batch_moment(batch)
        if late and stretch != 1.0:  # the days from ``since`` on, slowed down
            moment = start + (moment - start) * stretch
        tracker.observe_batch(tokens, judgements, str(batch[0]["feed"]), moment)
    return alarms, hits, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="since", default="2025-03-16", help="quiet from this day")
    parser.add_argument(
        "--stretch", type=float, default=1.0, help="the quiet days' clock runs this much slower"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    params = parse_sets(args.set)
    if not _reldata.available():
        print(f"skipped: {_reldata.DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    items = _reldata.load_items()
    print(f"false alarms among the off-topic items from {args.since} on (default threshold),")
    print("and the active run's F1 over those days")
    print(f"{'topic':24} {'active':>7} {'quiet':>7} {'F1':>7}")
    total = [0, 0]
    scores = []
    for topic in _reldata.load_topics(items):
        active, hits, misses = late_days(topic, items, args.since, False, args.stretch, params)
        quiet, _, _ = late_days(topic, items, args.since, True, args.stretch, params)
        f1 = 2 * hits / (2 * hits + misses + active) if hits + misses else math.nan
        total = [total[0] + active, total[1] + quiet]
        scores.append(f1)
        print(f"{topic.name:24} {active:>7} {quiet:>7} {f1:>7.3f}")
    print(f"{'all':24} {total[0]:>7} {total[1]:>7} {statistics.fmean(scores):>7.3f} (mean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
