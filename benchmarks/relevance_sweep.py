"""Every tracker constant, one step either side, on every topic: the figure behind each.

    python benchmarks/relevance_sweep.py [--workers 2] [--only name,name]

Needs ../shared/eval beside the repository (skips with a message otherwise).

For each field of ``Params`` the default and two neighbours (half and double, or one step for
the bounded ones) are run through ``relevance_live``'s protocol: every topic, publication
order and the eight live orders, the default threshold. Printed per setting: mean
publication F1, mean live F1, mean live Cnorm and the worst live run over the seedings, each
as a change from the defaults' (measured in the same run), and what leave-one-topic-out over
the field's three values picks for each held-out topic group. ``feedback_weight`` and
``feedback_near`` act only on explicit feedback, which the benchmark has none of: they are
listed, not swept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import fields
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reldata
from relevance_live import Row, _grid_job, group

from monitor._relevance import Params

NOT_SWEPT = {"feedback_weight": "acts only on explicit feedback (none in the benchmark)"}
NOT_SWEPT["feedback_near"] = NOT_SWEPT["feedback_weight"]
# Neighbours where halving or doubling leaves the field's range.
STEPS: dict[str, tuple[float, ...]] = {
    "title_weight": (1.5, 3.0),
    "min_share": (0.25, 0.6),
    "phrase_share": (0.25, 0.6),
    "adapt_dup": (0.35, 0.7),
    "adapt_cap": (0.2, 0.5),
    "z_mid": (3.6, 4.4),
    "prior_mean": (0.015, 0.06),
    "semantic_mean": (0.3, 0.4),
    "adapt_z": (3.8, 4.6),
    "adapt_band": (0.5, 1.5),
    "facet_merge": (0.6, 0.8),  # a similarity is at most 1
}


def neighbours(name: str, default: float, kind: object) -> list[str]:
    values = STEPS.get(name) or (default / 2, default * 2)
    if kind in (int, "int"):
        return [f"{name}={max(1, round(v))}" for v in values]
    return [f"{name}={v:g}" for v in values]


def summary(rows: dict[str, Row]) -> tuple[float, float, float, float]:
    vals = list(rows.values())
    return (
        statistics.fmean(r.pub.f1 for r in vals),
        statistics.fmean(r.live_f1 for r in vals),
        statistics.fmean(r.live_cnorm for r in vals),
        min(r.live_worst for r in vals),
    )


def loto_keeps_default(
    results: dict[tuple[str, ...], dict[str, Row]], candidates: list[tuple[str, ...]]
) -> list[str]:
    """For each held-out group, the candidate best on the others' mean live F1."""
    names = list(results[()])
    chosen = []
    for held in sorted({group(n) for n in names}):
        others = [n for n in names if group(n) != held]
        best = max(
            candidates,
            key=lambda sets: statistics.fmean(results[sets][n].live_f1 for n in others),
        )
        chosen.append(best[0] if best else "default")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="comma-separated Params fields (default: all)")
    args = parser.parse_args()
    if not _reldata.available():
        print(f"skipped: {_reldata.DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    started = time.perf_counter()
    defaults = Params()
    wanted = set(args.only.split(",")) if args.only else None
    swept: dict[str, list[tuple[str, ...]]] = {}
    for f in fields(Params):
        if f.name in NOT_SWEPT or (wanted is not None and f.name not in wanted):
            continue
        swept[f.name] = [(s,) for s in neighbours(f.name, getattr(defaults, f.name), f.type)]
    jobs = [(), *(sets for group_ in swept.values() for sets in group_)]
    with Pool(args.workers) as pool:
        results = dict(pool.map(_grid_job, [(sets, None) for sets in jobs]))
    base = summary(results[()])
    print(
        f"defaults: publication {base[0]:.3f}, live {base[1]:.3f}, live Cnorm {base[2]:.3f}, "
        f"worst live run {base[3]:.3f}"
    )
    print(
        f"{'setting':<24} {'pub F1':>7} {'live F1':>8} {'Cnorm':>7} {'worst':>6}   "
        "LOTO picks per group"
    )
    for candidates in swept.values():
        picks = loto_keeps_default(results, [(), *candidates])
        for sets in candidates:
            pub, live, cnorm, worst = summary(results[sets])
            print(
                f"{sets[0]:<24} {pub - base[0]:>+7.3f} {live - base[1]:>+8.3f} "
                f"{cnorm - base[2]:>+7.3f} {worst - base[3]:>+6.3f}"
                + (f"   {', '.join(picks)}" if sets is candidates[0] else "")
            )
    for name, why in NOT_SWEPT.items():
        print(f"{name:<24} not swept: {why}")
    print(f"({time.perf_counter() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
