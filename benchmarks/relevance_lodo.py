"""Relevance figures on the dev stream: at the default threshold, and leave-one-day-out.

    python benchmarks/relevance_lodo.py

Needs ../shared/eval/dev.jsonl beside the repository (skips with a message otherwise).

How the figures are made
------------------------
* The tracker runs over the whole dev stream in publication order, exactly as
  ``monitor classify`` does: ``judge`` then ``observe`` for every item, seeds only, no labels.
  Labels are used only afterwards, to count (label 1 "brief" items are not scored).
* "dev @ default" is the shipped configuration at ``DEFAULT_THRESHOLD``. It flatters: the
  defaults were chosen looking at these same days.
* "LODO" (leave one day out) estimates what choosing hyper-parameters costs: for each
  publication day D, the (configuration, threshold) pair with the best F1 on the *other* days
  is chosen from a small grid around the defaults, and D's items are decided with it. The
  decisions of all days are pooled and scored once. The stream itself (unlabelled) is always
  processed whole, as in production; only the choice of settings is held out.
* "LODO threshold only" does the same with the configuration fixed to the defaults.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from monitor._classify import batch_moment
from monitor._evaluate import Metrics, best_threshold, keyword_hit, metrics, metrics_at
from monitor._relevance import DEFAULT_THRESHOLD, Params, Tracker, read_seeds, tokenise

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

# The neighbourhood searched when the defaults were chosen.
GRID: list[Params] = [
    replace(Params(), idf_prior=prior, adapt_z=adapt, adapt_seed_z=seed_z)
    for prior in (50.0, 100.0, 200.0)
    for adapt in (3.9, 4.15, 4.4)
    for seed_z in (1.0, 1.5, 2.0)
]


def describe(params: Params) -> str:
    return f"idf_prior={params.idf_prior} adapt_z={params.adapt_z} seed_z={params.adapt_seed_z}"


def scores_for(params: Params, seeds: list[str], items: list[dict[str, object]]) -> list[float]:
    """Each item judged, then learnt from, one at a time, with its feed and its publication
    time as the poll's (the adaptation's clock, as ``monitor classify`` sets it)."""
    tracker = Tracker("topic", seeds, params=params)
    out = []
    for item in items:
        tokens = tokenise(str(item["title"]), str(item["summary"]))
        (judgement,) = tracker.judge_batch([tokens])
        tracker.observe_batch([tokens], [judgement], str(item["feed"]), batch_moment([item]))
        out.append(judgement.score)
    return out


def lodo(
    labels: list[int], days: list[str], runs: dict[str, list[float]]
) -> tuple[Metrics, dict[str, tuple[str, float]]]:
    hits = [False] * len(labels)
    chosen: dict[str, tuple[str, float]] = {}
    for day in sorted(set(days)):
        train = [i for i, d in enumerate(days) if d != day]
        best: tuple[float, str, float] | None = None
        for name, scores in runs.items():
            m = best_threshold([labels[i] for i in train], [scores[i] for i in train])
            threshold = m.threshold if m.threshold is not None else 1.0
            if best is None or m.f1 > best[0]:
                best = (m.f1, name, threshold)
        assert best is not None
        _, name, threshold = best
        chosen[day] = (name, threshold)
        for i, d in enumerate(days):
            if d == day:
                hits[i] = runs[name][i] >= threshold
    return metrics(labels, hits), chosen


def show(label: str, m: Metrics) -> None:
    print(
        f"{label:<34} F1 {m.f1:.3f}  Cnorm {m.cnorm:.3f}  P {m.precision:.3f}  "
        f"R {m.recall:.3f}  (tp {m.tp}, fp {m.fp}, fn {m.fn})"
    )


def main() -> int:
    if not DEV.exists():
        print(f"skipped: {DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    seeds = read_seeds(ROOT / "seeds")
    labels = [int(item["label"]) for item in items]
    days = [str(item["published"])[:10] for item in items]
    print(f"dev stream: {len(items)} items, {labels.count(2)} on topic, {labels.count(1)} brief")

    started = time.perf_counter()
    default = scores_for(Params(), seeds, items)
    show(f"dev @ default ({DEFAULT_THRESHOLD})", metrics_at(labels, default, DEFAULT_THRESHOLD))
    show("dev @ best F1 threshold (optimistic)", best_threshold(labels, default))
    keywords = ("coalition of the willing", "paris talks")  # the query issue 3 compared with
    show(
        "keyword baseline",
        metrics(labels, [keyword_hit(i["title"], i["summary"], keywords) for i in items]),
    )

    only_default, _ = lodo(labels, days, {"default": default})
    show("LODO threshold only", only_default)
    runs = {"default": default}
    for params in GRID:
        runs[describe(params)] = scores_for(params, seeds, items)
    full, chosen = lodo(labels, days, runs)
    show(f"LODO config+threshold ({len(runs)} cfgs)", full)
    picks = sorted({(name, round(t, 3)) for name, t in chosen.values()})
    print("settings chosen across held-out days:")
    for name, threshold in picks:
        print(f"  {name}  threshold {threshold}")
    print(f"({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
