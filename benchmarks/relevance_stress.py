"""Robustness of the relevance tracker: the dev stream perturbed, scored at the default threshold.

    python benchmarks/relevance_stress.py [--set name=value ...]

Needs ../shared/eval/dev.jsonl beside the repository (skips with a message otherwise).

Each stress test changes the *stream* the tracker sees (never the tracker), runs seeds-only
``judge`` + ``observe`` over it exactly as ``monitor classify`` does, and scores the original
items at ``DEFAULT_THRESHOLD`` (label 1 "brief" items are not scored). The figures are the mean
(and worst) F1 and Cnorm over the runs of each test:

* ``drop day``: each publication day with 50+ items is removed in turn (10 runs); the other
  days are scored. A tracker that relies on one day's burst to adapt shows it here.
* ``shuffle in day``: items of each day in random order (5 seeds).
* ``shuffled``: the whole stream in random order (5 seeds): no temporal coherence at all.
* ``reversed``: the stream backwards (the story's later names come first).
* ``flood x2``: after every off-topic item, a copy of a random off-topic item from another day
  (3 seeds): twice the off-topic density; only the original items are scored.

``--set`` overrides a ``Params`` field for the whole run (for experiments).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from monitor._evaluate import Metrics, best_threshold, metrics_at
from monitor._relevance import DEFAULT_THRESHOLD, Params, read_seeds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relevance_lodo import scores_for  # the same stream scoring as the LODO run

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

Item = dict[str, object]


def score(stream: list[Item], scores: list[float], *, best: bool = False) -> Metrics:
    keep = [i for i, item in enumerate(stream) if not item.get("_copy")]
    labels = [int(stream[i]["label"]) for i in keep]  # type: ignore[call-overload]
    chosen = [scores[i] for i in keep]
    if best:
        return best_threshold(labels, chosen)
    return metrics_at(labels, chosen, DEFAULT_THRESHOLD)


def by_day(items: list[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for item in items:
        out.setdefault(str(item["published"])[:10], []).append(item)
    return out


def drop_day(items: list[Item]) -> list[list[Item]]:
    days = by_day(items)
    big = [d for d, rows in days.items() if len(rows) >= 50]
    return [[it for it in items if str(it["published"])[:10] != d] for d in sorted(big)]


def shuffle_in_day(items: list[Item]) -> list[list[Item]]:
    out = []
    for seed in range(5):
        rng = random.Random(seed)
        stream: list[Item] = []
        for _, rows in sorted(by_day(items).items()):
            rows = list(rows)
            rng.shuffle(rows)
            stream.extend(rows)
        out.append(stream)
    return out


def shuffled(items: list[Item]) -> list[list[Item]]:
    out = []
    for seed in range(5):
        stream = list(items)
        random.Random(100 + seed).shuffle(stream)
        out.append(stream)
    return out


def reversed_(items: list[Item]) -> list[list[Item]]:
    return [list(reversed(items))]


def flood(items: list[Item]) -> list[list[Item]]:
    negatives = [it for it in items if int(it["label"]) == 0]  # type: ignore[call-overload]
    out = []
    for seed in range(3):
        rng = random.Random(200 + seed)
        stream: list[Item] = []
        for item in items:
            stream.append(item)
            if int(item["label"]) == 0:  # type: ignore[call-overload]
                day = str(item["published"])[:10]
                while True:
                    other = rng.choice(negatives)
                    if str(other["published"])[:10] != day:
                        break
                stream.append({**other, "_copy": True})
        out.append(stream)
    return out


TESTS: dict[str, Callable[[list[Item]], list[list[Item]]]] = {
    "drop day": drop_day,
    "shuffle in day": shuffle_in_day,
    "shuffled": shuffled,
    "reversed": reversed_,
    "flood x2": flood,
}


def stress(params: Params, seeds: list[str], items: list[Item]) -> dict[str, tuple[float, ...]]:
    """Per test: (mean F1, min F1, mean Cnorm, max Cnorm, mean best-threshold F1)."""
    out = {}
    for name, make in TESTS.items():
        runs = []
        for stream in make(items):
            scores = scores_for(params, seeds, stream)
            runs.append((score(stream, scores), score(stream, scores, best=True)))
        f1 = [m.f1 for m, _ in runs]
        cn = [m.cnorm for m, _ in runs]
        out[name] = (
            statistics.mean(f1),
            min(f1),
            statistics.mean(cn),
            max(cn),
            statistics.mean(b.f1 for _, b in runs),
        )
    return out


def parse_sets(values: list[str]) -> Params:
    params = Params()
    kinds = {f.name: f.type for f in fields(Params)}
    for value in values:
        name, _, raw = value.partition("=")
        if name not in kinds:
            raise SystemExit(f"unknown parameter {name!r}")
        current = getattr(params, name)
        params = replace(params, **{name: type(current)(raw)})
    return params


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    if not DEV.exists():
        print(f"skipped: {DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    params = parse_sets(args.set)
    items: list[Item] = [
        json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line
    ]
    seeds = read_seeds(ROOT / "seeds")
    started = time.perf_counter()
    base = scores_for(params, seeds, items)
    m, b = score(items, base), score(items, base, best=True)
    print(f"{'dev @ default':<16} F1 {m.f1:.3f}  Cnorm {m.cnorm:.3f}  (best-thr F1 {b.f1:.3f})")
    results = stress(params, seeds, items)
    every = []
    for name, (f1, f1_min, cn, cn_max, best) in results.items():
        every.append((f1, cn))
        print(
            f"{name:<16} F1 {f1:.3f} (min {f1_min:.3f})  Cnorm {cn:.3f} (max {cn_max:.3f})  "
            f"best-thr F1 {best:.3f}"
        )
    f1s = statistics.mean(f for f, _ in every)
    cns = statistics.mean(c for _, c in every)
    print(
        f"{'stress mean':<16} F1 {f1s:.3f}  Cnorm {cns:.3f}  ({time.perf_counter() - started:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
