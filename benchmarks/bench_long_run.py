"""What a months-old install's counts cost the scoring: judge and learn, per item, with the
document-frequency table at its limit, against a fresh tracker in the same run.

    python benchmarks/bench_long_run.py [--items N]

The tracker (the shipped seeds) and the story grouper count every feature the stream brings
(names, word pairs); ``forget_rare`` cuts a table that reaches its limit (400,000 features for
the tracker, 200,000 for the grouper) back to its most common half. Here each table starts one
feature under its limit, every feature seen twice (a stream that has run for months; the last
release kept all of those, so a table stuck over its limit was rebuilt on every item), and
the dev items (../shared/eval, when present; else sentences of the seeds) are judged and
learnt from, in publication order. Printed: items per second for each (the median of three
runs, taken in turn with the fresh ones), and the ratio against the same items on a fresh
tracker (or grouper), measured in this run. The aged runs include one cut (the first items
take the table over its limit), which a real stream makes once per ``limit // 2`` new
features; the cut's own time is printed too, and what a table at the limit holds: its memory
(Python's allocations, ``tracemalloc``) and its size in the saved state's JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench_merge import ROOT, items

from monitor._relevance import StoryGrouper, Tracker, read_seeds
from monitor._relevance._counts import forget_rare
from monitor._relevance._persist import DF_LIMIT
from monitor._relevance._stories import _DF_LIMIT as STORY_DF_LIMIT
from monitor._storage._rows import state_json

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def full(limit: int) -> Counter[str]:
    return Counter({f"old{i}": 2 for i in range(limit - 1)})


def tracker_rate(seeds: list[str], texts: list[tuple[str, str]], *, old: bool) -> float:
    tracker = Tracker("t", seeds)
    if old:
        tracker._df = full(DF_LIMIT)
        tracker._n = 2_000_000
    began = time.perf_counter()
    for title, summary in texts:
        tracker.observe(title, summary, tracker.judge(title, summary))
    return len(texts) / (time.perf_counter() - began)


def grouper_rate(texts: list[tuple[str, str]], *, old: bool) -> float:
    grouper = StoryGrouper()
    if old:
        grouper._df = dict(full(STORY_DF_LIMIT))
        grouper._n = 2_000_000
    began = time.perf_counter()
    for i, (title, summary) in enumerate(texts):
        grouper.assign(f"k{i}", title, summary, T0 + timedelta(minutes=i))
    return len(texts) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=0, help="first N items only (0: all)")
    args = parser.parse_args()
    texts = items()[: args.items or None]
    seeds = read_seeds(ROOT / "seeds")
    print(f"{len(texts)} items; items per second (ratio: months-old / fresh, this run)")
    tracker_rate(seeds, texts[:50], old=False)  # loads the meaning model: not timed below
    for name, rate in (
        ("tracker", lambda old: tracker_rate(seeds, texts, old=old)),
        ("story grouper", lambda old: grouper_rate(texts, old=old)),
    ):
        runs = [(rate(False), rate(True)) for _ in range(3)]
        fresh = statistics.median(f for f, _ in runs)
        aged = statistics.median(a for _, a in runs)
        ratio = statistics.median(a / f for f, a in runs)
        print(f"{name:>14}: fresh {fresh:8,.0f}  at the limit {aged:8,.0f}  ratio {ratio:.2f}")
    table = full(DF_LIMIT + 1)
    table["new"] = 1  # one over the limit: what the tracker cuts
    began = time.perf_counter()
    forget_rare(table, DF_LIMIT)
    print(f"one cut of the tracker's table: {time.perf_counter() - began:.2f} s")
    tracemalloc.start()
    table = Counter({f"w{i:07d} x{i % 997:04d}": 2 for i in range(DF_LIMIT)})  # pair-like keys
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    size = len(state_json(table))
    print(f"a table at the limit: {held / 1e6:.0f} MB in memory, {size / 1e6:.1f} MB of JSON")


if __name__ == "__main__":
    main()
